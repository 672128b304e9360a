// GET /metrics: Prometheus text format.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

export function registerMetricsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/metrics', async (_request, reply) => {
    const stats = ctx.loaded?.stats();
    ctx.metrics.sample(stats);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render(stats, ctx.loaded !== undefined));
  });
}
