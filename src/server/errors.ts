// OpenAI-shaped errors: { error: { message, type, param, code } } with the HTTP status that goes with them.
import {
  ContextOverflowError,
  DeviceOutOfMemoryError,
  InvalidRequestError,
  ModelNotFoundError,
  RocforgeError,
} from '../errors.ts';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An error the API reports to the client as-is. */
export class ApiError extends RocforgeError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds, sent as Retry-After (503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function unsupported(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'unsupported_parameter');
}

/** Engines signal a full queue with a QueueFullError; matched by name so the server does not depend on where it lives. */
function isQueueFull(e: unknown): boolean {
  return e instanceof Error && e.name === 'QueueFullError';
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR');
}

/**
 * Maps whatever a handler threw to an ApiError. Caller mistakes are 4xx; a full queue or a device
 * out of memory is 503 (retry later: memory frees as other requests finish); anything else is a 500
 * whose message does not leak internals beyond the error's own message.
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isQueueFull(e)) {
    return new ApiError(503, (e as Error).message || 'The request queue is full; retry later.', 'service_unavailable_error', null, 'queue_full', 1);
  }
  if (e instanceof ContextOverflowError) return invalidRequest(e.message, 'messages', 'context_length_exceeded');
  if (e instanceof InvalidRequestError) return invalidRequest(e.message);
  if (e instanceof ModelNotFoundError) return new ApiError(404, e.message, 'not_found_error', 'model', 'model_not_found');
  if (e instanceof DeviceOutOfMemoryError) {
    return new ApiError(503, `${e.message} (the server is still running; retry with a shorter request or later)`, 'service_unavailable_error', null, 'device_out_of_memory', 5);
  }
  const fastifyStatus = (e as { statusCode?: unknown } | null)?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return fromFastifyClientError(fastifyStatus, e as Error & { code?: string });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, `Internal server error: ${message}`, 'server_error', null, 'internal_error');
}

function fromFastifyClientError(status: number, e: Error & { code?: string }): ApiError {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, `Request body too large: ${e.message}. Send a smaller request.`, 'invalid_request_error', null, 'request_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, `Unsupported Content-Type: send the body as application/json.`, 'invalid_request_error', null, 'unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidRequest('The request body is empty: send a JSON object.', null, 'invalid_json');
    default:
      if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return invalidRequest(`The request body is not valid JSON (${e.message}).`, null, 'invalid_json');
      }
      return new ApiError(status, e.message, status === 404 ? 'not_found_error' : 'invalid_request_error', null, e.code ?? null);
  }
}
