/** A tiny typed client for Filo's JSON API: same-origin cookies, JSON bodies, one error type. */

/** The body of every error the server answers: `{"error": {"code", "message", "fields"?}}`. */
export interface ApiErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

/** A failed request: the HTTP status (0 when the server could not be reached), a stable code and a message for people. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  /** The whole `error` object of the answer: some carry more than code and message (a 409 the current record). */
  readonly body: Record<string, unknown> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    fields?: Record<string, string>,
    body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.body = body;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /** Non-2xx statuses whose JSON body is a normal answer, e.g. 503 from `/readyz`. */
  accept?: readonly number[];
  /** SvelteKit's `fetch` inside a `load` function; the global one otherwise. */
  fetch?: typeof fetch;
}

const messages = {
  network: 'Could not reach the Filo server. Check your connection and try again.',
  unexpected: (status: number) => `The server answered with an unexpected error (HTTP ${status}).`,
} as const;

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Calls `path` on our own origin and resolves with its JSON body (`undefined` for an empty answer, e.g. 204).
 * Throws an {@link ApiError} for an error status, or with status 0 when the request could not be made.
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = options.body === undefined ? 'GET' : 'POST', body, signal, accept = [] } = options;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';

  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'network_error', messages.network);
  }

  const data = await readJson(res);
  if (res.ok || accept.includes(res.status)) return data as T;
  if (isErrorBody(data))
    throw new ApiError(res.status, data.error.code, data.error.message, data.error.fields, data.error);
  throw new ApiError(res.status, `http_${res.status}`, messages.unexpected(res.status));
}
