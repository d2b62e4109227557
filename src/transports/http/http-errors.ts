import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, SwitchboardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/**
 * Renders anything a route throws as `{code, message}` with the registry's status. Fastify's
 * own 4xx errors (bad JSON, body too large) get our codes; anything else is `internal` and
 * logged here, so no stack or internal message reaches a client.
 */
export function httpErrorHandler(logger: Logger) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    const failure = toHttpError(error);
    if (failure.code === 'internal') logger.error({ err: error, method: request.method, path: request.routeOptions.url }, 'request failed');
    void reply.code(failure.httpStatus).send(failure.toJSON());
  };
}

const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  415: 'bad_request',
  429: 'rate_limited',
  503: 'unavailable',
};

function toHttpError(error: FastifyError | Error): SwitchboardError {
  if (error instanceof SwitchboardError) return error;
  const fastifyError = error as Partial<FastifyError>;
  const code = fastifyError.statusCode !== undefined ? BY_STATUS[fastifyError.statusCode] : undefined;
  if (code === undefined) return new SwitchboardError('internal');
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new SwitchboardError('bad_request', 'The body is not valid JSON.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SwitchboardError('bad_request', 'The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SwitchboardError('bad_request', 'Send the body as application/json.');
    default:
      return new SwitchboardError(code);
  }
}

/** What Node's `clientError` codes answer: a status, and the envelope's code and message. */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; code: ErrorCode; message: string }>> = {
  // 431 is the status HTTP has for it; the code is the registry's `too_large` (413 elsewhere).
  HPE_HEADER_OVERFLOW: { status: 431, code: 'too_large', message: 'The request headers are larger than the server accepts.' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'too_large', message: 'The chunk extensions are larger than the server accepts.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'bad_request', message: 'The request did not arrive in time.' },
};
const NOT_HTTP = { status: 400, code: 'bad_request', message: 'The request is not valid HTTP/1.1.' } as const;

/**
 * The raw HTTP/1.1 answer to a request Node's parser refused (its `clientError`), with the
 * same `{code, message}` envelope as every route; written straight to the socket, since no
 * response object exists for it.
 *
 * @example
 *   socket.write(clientErrorReply(error)); // error.code 'HPE_HEADER_OVERFLOW': 431, too_large
 */
export function clientErrorReply(error: { readonly code?: string }): string {
  const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? NOT_HTTP;
  const body = JSON.stringify(new SwitchboardError(code, message).toJSON());
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
