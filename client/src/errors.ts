import { CLOSE_CODES, type ErrorCode } from '../../protocol/codes.js';

/**
 * Why a request failed: one of the server's codes (docs/protocol.md, "Error codes"), or
 * one the SDK adds:
 * - `timeout`: no reply within the request's timeout (a publish may still have been
 *   stored; publishing again with the same `cid` is always safe);
 * - `connection_lost`: the connection dropped while a request that is not safe to repeat
 *   (the protocol's `retry: false`: create, edit, delete, leave, remove, typing ...) was
 *   waiting for its reply;
 * - `closed`: the client was closed, or stopped for good after a fatal close.
 */
export type ClientErrorCode = ErrorCode | 'timeout' | 'connection_lost' | 'closed';

/**
 * The one error type the SDK rejects with.
 *
 * @example
 * try {
 *   await client.publish('general', 'hi');
 * } catch (error) {
 *   if (error instanceof ClientError && error.code === 'forbidden') showNotAllowed();
 * }
 */
export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** The request that failed (`publish`, `subscribe` ...), when there was one. */
  readonly request: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { request?: string; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message);
    this.name = 'ClientError';
    this.code = code;
    this.request = options.request;
    this.details = options.details;
  }
}

/** Close codes after which reconnecting with the same credentials cannot help. */
const FATAL_CLOSE_CODES: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [CLOSE_CODES.badRequest, 'bad_request'],
  [CLOSE_CODES.unauthorized, 'unauthorized'],
  [CLOSE_CODES.forbidden, 'forbidden'],
]);

/**
 * What a close code means for the client: null when it should reconnect, else the
 * reason it must stop. 1000 (a deliberate close by the server) also stops it.
 */
export function fatalCloseError(code: number, reason: string): ClientError | null {
  const errorCode = FATAL_CLOSE_CODES.get(code);
  if (errorCode) return new ClientError(errorCode, reason || `The server closed the connection (${code}).`);
  if (code === CLOSE_CODES.normal) return new ClientError('closed', reason || 'The server closed the connection.');
  return null;
}

/** HTTP statuses that refuse an upgrade for good: the same request cannot succeed later. */
const REFUSED: ReadonlyMap<number, ClientErrorCode> = new Map<number, ClientErrorCode>([
  [400, 'bad_request'],
  [401, 'unauthorized'],
  [403, 'forbidden'],
  [404, 'not_found'],
]);

/** The fatal refusal `ws` reports as "Unexpected server response: 403"; null for anything else. */
export function upgradeRefusal(event: unknown): ClientError | null {
  const message = (event as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return null;
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  const code = status === undefined ? undefined : REFUSED.get(Number(status));
  if (code === undefined) return null;
  return new ClientError(code, `The server refused the connection (HTTP ${status}).`, {
    details: { httpStatus: Number(status) },
  });
}

/** The same error, naming the channel it concerns. */
export function withChannel(error: ClientError, channel: string): ClientError {
  return new ClientError(error.code, `${channel}: ${error.message}`, {
    request: error.request,
    details: { ...error.details, channel },
  });
}
