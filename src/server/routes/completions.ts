// POST /v1/completions (the legacy text-completion API)
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { respond, type ResponseShape, type TokenLogprobView } from '../generation.ts';
import { parseCompletionRequest } from '../validate.ts';

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
    top_logprobs: views.map((v) => Object.fromEntries(v.top.map((t) => [t.token, t.logprob]))),
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
