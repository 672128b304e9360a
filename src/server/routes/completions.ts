// POST /v1/completions (the legacy text-completion API)
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { respond, type ResponseShape, type TokenLogprobView } from '../generation.ts';
import { parseCompletionRequest } from '../validate.ts';

/**
 * The legacy shape keys alternatives by text, so tokens that render alike (byte tokens that are not
 * whole characters all show as U+FFFD) share one key: it keeps the likeliest of them, as the list
 * is in descending order, rather than letting a later, less likely one overwrite it.
 */
export function topByText(top: TokenLogprobView['top']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of top) if (!Object.hasOwn(out, t.token)) out[t.token] = t.logprob;
  return out;
}

function legacyLogprobs(views: TokenLogprobView[] | undefined, startOffset: number): object | null {
  if (!views) return null;
  const offsets: number[] = [];
  let offset = startOffset;
  for (const v of views) {
    offsets.push(offset);
    offset += v.token.length;
  }
  return {
    tokens: views.map((v) => v.token),
    token_logprobs: views.map((v) => v.logprob),
    top_logprobs: views.map((v) => topByText(v.top)),
    text_offset: offsets,
  };
}

export const completionShape: ResponseShape = {
  idPrefix: 'cmpl-',
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (text, finishReason, logprobs) => ({ index: 0, text, logprobs: legacyLogprobs(logprobs, 0), finish_reason: finishReason }),
  firstChunkChoice: () => undefined,
  deltaChoice: (text, logprobs, textOffset) => ({ index: 0, text, logprobs: legacyLogprobs(logprobs, textOffset), finish_reason: null }),
  finalChoice: (finishReason) => ({ index: 0, text: '', logprobs: null, finish_reason: finishReason }),
};

export function registerCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/completions', async (request, reply) => {
    const req = parseCompletionRequest(request.body);
    const engine = ctx.engine();
    return respond(ctx, reply, req, {
      whole: (opts) => engine.generate(req.prompt, opts),
      stream: (opts) => engine.generateStreaming(req.prompt, opts),
    }, completionShape);
  });
}
