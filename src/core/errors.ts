import { CLOSE_CODES, ERROR_CODES, type ErrorBody, type ErrorCode, isErrorCode } from '../../protocol/codes.js';

// The registry of codes is the protocol's (the SDK reads the same table); re-exported for the server's code.
export { CLOSE_CODES, ERROR_CODES, isErrorCode };
export type { ErrorBody, ErrorCode };

/**
 * A refusal every transport can render: a stable code from protocol/codes.ts and a
 * human message. Thrown anywhere on the server; anything else thrown becomes `internal`.
 *
 * @example
 *   throw new SwitchboardError('forbidden', 'You may not read channel staff.');
 *   reply.code(error.toHttp().status).send(error.toHttp().body);
 */
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
  toJSON(): ErrorBody {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }

  /** The HTTP rendering: status and JSON body. */
  toHttp(): { readonly status: number; readonly body: ErrorBody } {
    return { status: this.httpStatus, body: this.toJSON() };
  }

  /** The /ws rendering: an `error` frame answering request `id` (null when no request is to blame). */
  toFrame(id: number | string | null): ErrorBody & { readonly type: 'error'; readonly id: number | string | null } {
    return { type: 'error', id, ...this.toJSON() };
  }
}

/**
 * The store or the broker was out of reach (an outage, a node shutting down): the same
 * work may succeed later, so callers retry or tell the client to, rather than give up.
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof SwitchboardError && error.code === 'unavailable';
}

/** Turns anything thrown into a SwitchboardError fit to send; unknown errors become `internal`. */
export function toSwitchboardError(err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError('internal');
}
