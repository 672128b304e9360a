// Shared state of one server: the engine (once loaded), the model it serves, metrics.
import type { FastifyReply } from 'fastify';
import { ApiError } from './errors.ts';
import { ServerMetrics } from './metrics.ts';
import type { ServingEngine } from './serving-engine.ts';

export interface ModelCard {
  /** The id clients send as `model` and that /v1/models lists. */
  id: string;
  /** Seconds since the epoch (the file's mtime), as OpenAI's `created`. */
  created: number;
  /** Set for the built-in demo model: said in /v1/models and the log. */
  notice?: string;
  /** Extra facts for /v1/models `meta` (path, backend, context length...). */
  meta?: Record<string, string | number | boolean>;
}

export class ServerContext {
  readonly metrics = new ServerMetrics();
  private engineValue: ServingEngine | undefined;
  private loadFailure: Error | undefined;
  private loadProgress = 0;

  constructor(readonly model: ModelCard, engine: ServingEngine | Promise<ServingEngine>) {
    if (engine instanceof Promise) {
      engine.then(
        (e) => {
          this.engineValue = e;
          this.loadProgress = 1;
        },
        (err: unknown) => {
          this.loadFailure = err instanceof Error ? err : new Error(String(err));
        },
      );
    } else {
      this.engineValue = engine;
      this.loadProgress = 1;
    }
  }

  get loaded(): ServingEngine | undefined {
    return this.engineValue;
  }

  get failure(): Error | undefined {
    return this.loadFailure;
  }

  get progress(): number {
    return this.loadProgress;
  }

  setProgress(fraction: number): void {
    if (!this.engineValue) this.loadProgress = Math.min(1, Math.max(0, fraction));
  }

  /** The engine, or a 503 (with Retry-After) while the model loads or after it failed to load. */
  engine(): ServingEngine {
    if (this.engineValue) return this.engineValue;
    if (this.loadFailure) {
      throw new ApiError(503, `The model failed to load: ${this.loadFailure.message}`, 'service_unavailable_error', null, 'model_load_failed');
    }
    throw new ApiError(503, `The model is still loading (${Math.round(this.loadProgress * 100)}%); retry shortly.`, 'service_unavailable_error', null, 'model_loading', 2);
  }
}

/** Sends an ApiError as OpenAI's error object. */
export function sendApiError(reply: FastifyReply, e: ApiError): FastifyReply {
  if (e.retryAfter !== undefined) void reply.header('Retry-After', String(e.retryAfter));
  return reply.status(e.status).send(e.body());
}
