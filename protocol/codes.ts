/**
 * Error and close codes: the one table every transport, the SDK and the docs read.
 * Each code is stable and never reused. An entry gives the HTTP status, the WebSocket
 * close code (when an error ends a connection) and the gRPC status number; docs/protocol.md
 * lists every code with all three (a test checks it).
 *
 * This module imports nothing: the SDK and the web app import it at run time.
 */
export const ERROR_CODES = {
  bad_request: {
    http: 400, close: 4400, grpc: 3, message: 'The request is malformed.',
    meaning: 'malformed JSON, a missing or invalid field, an unknown field',
  },
  unknown_command: {
    http: 400, close: 4400, grpc: 12, message: 'Unknown command.',
    meaning: 'the `type` is not a command',
  },
  unauthorized: {
    http: 401, close: 4401, grpc: 16, message: 'Authentication required.',
    meaning: 'not authenticated: no credentials, bad or expired ones',
  },
  forbidden: {
    http: 403, close: 4403, grpc: 7, message: 'Not allowed.',
    meaning: 'authenticated, but the channel\'s rules (or the caller\'s kind) refuse it, or the user is banned',
  },
  not_found: {
    http: 404, close: 4404, grpc: 5, message: 'Not found.',
    meaning: 'no such channel, message, user or membership',
  },
  conflict: {
    http: 409, close: 4409, grpc: 6, message: 'Conflicts with the current state.',
    meaning: 'the channel exists, already subscribed, message already deleted',
  },
  too_large: {
    http: 413, close: 1009, grpc: 8, message: 'Too large.',
    meaning: 'text longer than the limit, a frame or body larger than the limit',
  },
  rate_limited: {
    http: 429, close: 4429, grpc: 8, message: 'Too many requests.',
    meaning: 'over the per-user command budget or the per-connection frame rate',
  },
  slow_consumer: {
    http: 429, close: 4408, grpc: 8, message: 'The client reads too slowly.',
    meaning: 'the send queue passed its bound; reconnect and resume',
  },
  too_many_subscriptions: {
    http: 429, close: 4429, grpc: 8, message: 'Too many subscriptions.',
    meaning: 'more subscriptions than a connection may hold',
  },
  too_many_sessions: {
    http: 429, close: 4429, grpc: 8, message: 'Too many sessions.',
    meaning: 'the user already holds as many live sessions (/ws, SSE, gRPC streams) on this node as allowed; close one first',
  },
  retention_exceeded: {
    http: 410, close: 4410, grpc: 11, message: 'Requested events are no longer retained.',
    meaning: 'a resume asked for events no longer retained',
  },
  stale_epoch: {
    http: 409, close: 4409, grpc: 9, message: 'The channel was deleted and created again since that position.',
    meaning: 'a resume (`since`) names an older epoch of the channel: its log is gone; `details.epoch` is the current one, resubscribe from 0 of it',
  },
  archived: {
    http: 409, close: 4409, grpc: 9, message: 'The channel is archived (read-only).',
    meaning: 'publish, edit, delete or react in an archived channel; history and subscribe still work',
  },
  unavailable: {
    http: 503, close: 4503, grpc: 14, message: 'Temporarily unavailable; retry.',
    meaning: 'the store, the node or a feature cannot serve now; nothing was stored; retry',
  },
  internal: {
    http: 500, close: 1011, grpc: 13, message: 'Internal error.',
    meaning: 'a bug; the message says nothing more',
  },
} as const satisfies Record<string, { http: number; close: number; grpc: number; message: string; meaning: string }>;

/** gRPC status numbers by name, as grpc-js and grpcurl print them. */
export const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * WebSocket close codes: 4000 + the HTTP status of the reason, 1009 for an oversized
 * frame. Shared by the server and the SDK, which decides from them whether to reconnect.
 */
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

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** The error body every transport sends: a code, a human message, sometimes details. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}
