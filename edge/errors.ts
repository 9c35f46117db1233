/**
 * One error type for the whole API. Handlers throw `ApiError`; the single `onError` in app.ts turns
 * it into the OpenAI error shape `{ error: { message, type, param, code } }` with its status.
 * Anything else becomes a logged 500 `server_error` whose message hides internals.
 */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'unavailable_error';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** Default HTTP status of each error type (llama.cpp's format_error_response mapping, plus ours). */
const STATUS_OF: Record<ApiErrorType, ContentfulStatusCode> = {
  invalid_request_error: 400,
  authentication_error: 401,
  not_found_error: 404,
  rate_limit_error: 429,
  server_error: 500,
  unavailable_error: 503,
};

export interface ApiErrorOptions {
  type: ApiErrorType;
  code?: string;
  param?: string;
  status?: ContentfulStatusCode;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends HTTPException {
  readonly type: ApiErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(message: string, options: ApiErrorOptions) {
    super(options.status ?? STATUS_OF[options.type], { message, cause: options.cause });
    this.type = options.type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  override getResponse(): Response {
    return new Response(JSON.stringify(this.toBody()), {
      status: this.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...this.headers },
    });
  }
}

/** Shorthand for the most common case: a 400 naming the bad parameter. */
export function invalidParam(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(message, { type: 'invalid_request_error', param, code });
}

/** Turns any thrown value into the OpenAI error shape (used by onError and by SSE error events). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const type: ApiErrorType = err.status === 413 ? 'invalid_request_error' : err.status >= 500 ? 'server_error' : 'invalid_request_error';
    return new ApiError(err.message || 'request rejected', { type, status: err.status as ContentfulStatusCode });
  }
  return new ApiError('internal error while serving the request; see the edge log', { type: 'server_error', code: 'internal_error', cause: err });
}
