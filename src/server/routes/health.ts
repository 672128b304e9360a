// GET /health: 503 while the model loads (or if it failed to), then 200 { status: "ok" }.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

export function registerHealthRoute(app: FastifyInstance, ctx: ServerContext): void {
  const handler = async (_request: unknown, reply: import('fastify').FastifyReply): Promise<object> => {
    const engine = ctx.loaded;
    if (engine) {
      const s = engine.stats();
      return { status: 'ok', model: ctx.model.id, slots_total: s.slotsTotal, slots_busy: s.slotsBusy, queued: s.queued };
    }
    if (ctx.failure) {
      void reply.status(503);
      return { status: 'error', error: { message: `The model failed to load: ${ctx.failure.message}`, type: 'service_unavailable_error', param: null, code: 'model_load_failed' } };
    }
    void reply.status(503).header('Retry-After', '2');
    return {
      status: 'loading',
      progress: Math.round(ctx.progress * 1000) / 1000,
      error: { message: 'The model is still loading.', type: 'service_unavailable_error', param: null, code: 'model_loading' },
    };
  };
  app.get('/health', handler);
  app.get('/v1/health', handler);
}
