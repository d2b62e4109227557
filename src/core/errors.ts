/**
 * The one registry of error codes. Each code is stable and never reused; every transport
 * renders the same entry (HTTP status, WebSocket close code, gRPC status number).
 * docs/protocol.md lists every code (a test checks it).
 */
export const ERROR_CODES = {
  bad_request: { http: 400, close: 4400, grpc: 3, message: 'The request is malformed.' },
  unknown_command: { http: 400, close: 4400, grpc: 12, message: 'Unknown command.' },
  unauthorized: { http: 401, close: 4401, grpc: 16, message: 'Authentication required.' },
  forbidden: { http: 403, close: 4403, grpc: 7, message: 'Not allowed.' },
  not_found: { http: 404, close: 4404, grpc: 5, message: 'Not found.' },
  conflict: { http: 409, close: 4409, grpc: 6, message: 'Conflicts with the current state.' },
  too_large: { http: 413, close: 1009, grpc: 8, message: 'Too large.' },
  rate_limited: { http: 429, close: 4429, grpc: 8, message: 'Too many requests.' },
  slow_consumer: { http: 429, close: 4408, grpc: 8, message: 'The client reads too slowly.' },
  too_many_subscriptions: { http: 429, close: 4429, grpc: 8, message: 'Too many subscriptions.' },
  retention_exceeded: { http: 410, close: 4410, grpc: 11, message: 'Requested events are no longer retained.' },
  unavailable: { http: 503, close: 4503, grpc: 14, message: 'Temporarily unavailable; retry.' },
  internal: { http: 500, close: 1011, grpc: 13, message: 'Internal error.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** WebSocket close codes shared by the server and the SDK. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  internal: 1011,
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  slowConsumer: 4408,
  rateLimited: 4429,
  /** Server draining or restarting: reconnect (elsewhere) and resume. */
  reconnect: 4503,
} as const;

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'SwitchboardError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get closeCode(): number {
    return ERROR_CODES[this.code].close;
  }

  get grpcStatus(): number {
    return ERROR_CODES[this.code].grpc;
  }

  /** The body every transport sends: never a stack or an internal message. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/** Turns anything thrown into a SwitchboardError fit to send; unknown errors become `internal`. */
export function toSwitchboardError(err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError('internal');
}
