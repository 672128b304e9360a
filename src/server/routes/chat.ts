// POST /v1/chat/completions
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { respond, type ResponseShape, type TokenLogprobView } from '../generation.ts';
import { parseChatRequest } from '../validate.ts';

function chatLogprobs(views: TokenLogprobView[] | undefined): object | null {
  if (!views) return null;
  return {
    content: views.map((v) => ({
      token: v.token,
      logprob: v.logprob,
      bytes: v.bytes,
      top_logprobs: v.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes })),
    })),
  };
}

export const chatShape: ResponseShape = {
  idPrefix: 'chatcmpl-',
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (text, finishReason, logprobs) => ({
    index: 0,
    message: { role: 'assistant', content: text, refusal: null },
    logprobs: chatLogprobs(logprobs),
    finish_reason: finishReason,
  }),
  firstChunkChoice: () => ({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
  deltaChoice: (text, logprobs) => ({ index: 0, delta: { content: text }, logprobs: chatLogprobs(logprobs), finish_reason: null }),
  finalChoice: (finishReason) => ({ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }),
};

export function registerChatRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    const req = parseChatRequest(request.body);
    const engine = ctx.engine();
    return respond(ctx, reply, req, {
      whole: (opts) => engine.chat(req.messages, opts),
      stream: (opts) => engine.chatStreaming(req.messages, opts),
    }, chatShape);
  });
}
