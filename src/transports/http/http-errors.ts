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
