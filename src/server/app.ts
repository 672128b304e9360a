// The OpenAI-compatible HTTP server: builds a Fastify app around a ServingEngine.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ServerContext, sendApiError, type ModelCard } from './context.ts';
import { ApiError, toApiError } from './errors.ts';
import { registerChatRoute } from './routes/chat.ts';
import { registerCompletionsRoute } from './routes/completions.ts';
import { registerHealthRoute } from './routes/health.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerModelsRoutes } from './routes/models.ts';
import type { ServingEngine } from './serving-engine.ts';

export interface ServerOptions {
  /** The engine, or the promise of one while the model loads (/health answers 503 until it resolves). */
  engine: ServingEngine | Promise<ServingEngine>;
  model: ModelCard;
  /** When set, every route but /health needs `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Largest request body in bytes (413 beyond). Default 4 MiB. */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
}

export interface RocforgeServer {
  app: FastifyInstance;
  ctx: ServerContext;
}

const OPEN_ROUTES = new Set(['/health', '/v1/health']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export async function buildServer(opts: ServerOptions): Promise<RocforgeServer> {
  const ctx = new ServerContext(opts.model, opts.engine);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 4 * 1024 * 1024,
    // Generation can take long; the engine's own queue bounds the work, not a socket timer.
    requestTimeout: 0,
    keepAliveTimeout: 30_000,
    // Shutting down ends open streams too (the engine is disposed right after).
    forceCloseConnections: true,
  });

  app.addHook('onRequest', async (request, reply) => {
    // Counted when the response closes, so streamed (hijacked) replies count too.
    reply.raw.once('close', () => {
      // Closed before the response was complete: the client left (nginx's 499, client closed request).
      const status = reply.raw.writableFinished ? reply.raw.statusCode : 499;
      ctx.metrics.countRequest(request.method, request.routeOptions.url ?? 'unmatched', status);
    });
    if (opts.apiKey === undefined) return;
    const path = request.url.split('?')[0] ?? '';
    if (OPEN_ROUTES.has(path)) return;
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : (request.headers['x-api-key'] as string | undefined) ?? '';
    if (!given || !timingSafeEqual(digest(given), digest(opts.apiKey))) {
      return sendApiError(
        reply,
        new ApiError(401, given ? 'Incorrect API key provided.' : 'Missing API key: send it as "Authorization: Bearer <key>".', 'authentication_error', null, 'invalid_api_key'),
      );
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500 && api.code !== 'queue_full' && api.code !== 'model_loading') request.log.error({ err: error }, 'request failed');
    if (reply.raw.headersSent || reply.raw.destroyed) return;
    return sendApiError(reply, api);
  });

  app.setNotFoundHandler((request, reply) => {
    return sendApiError(reply, new ApiError(404, `Unknown route: ${request.method} ${request.url.split('?')[0]}.`, 'not_found_error', null, 'unknown_route'));
  });

  registerHealthRoute(app, ctx);
  registerModelsRoutes(app, ctx);
  registerMetricsRoute(app, ctx);
  registerChatRoute(app, ctx);
  registerCompletionsRoute(app, ctx);

  // Samples token counters once a second for the tokens/s gauge; unref'd so it never keeps the process alive.
  const sampler = setInterval(() => ctx.metrics.sample(ctx.loaded?.stats()), 1000);
  sampler.unref();
  app.addHook('onClose', async () => clearInterval(sampler));
  return { app, ctx };
}
