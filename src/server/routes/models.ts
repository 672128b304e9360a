// GET /v1/models and GET /v1/models/:model
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

function modelObject(ctx: ServerContext): object {
  const m = ctx.model;
  return {
    id: m.id,
    object: 'model',
    created: m.created,
    owned_by: 'rocforge',
    ...(m.notice ? { notice: m.notice } : {}),
    meta: { loaded: ctx.loaded !== undefined, ...(m.meta ?? {}) },
  };
}

export function registerModelsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject(ctx)] }));
  // Any name retrieves the one served model, as any name in a request is served by it.
  app.get('/v1/models/:model', async () => modelObject(ctx));
}
