import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import { type ErrorCode, SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/** Trailing metadata key with the exact Switchboard code (several codes share one gRPC status). */
export const ERROR_CODE_KEY = 'x-switchboard-error';
/** Trailing metadata key with the error's details as JSON, when it has any (`stale_epoch`: the current epoch). */
export const ERROR_DETAILS_KEY = 'x-switchboard-error-details';

/**
 * Anything thrown by a handler as the status to end the call with: the registry's gRPC
 * status, the error's own message, and the Switchboard code in trailing metadata.
 * Unknown errors are logged and sent as `internal` with no detail.
 */
export function toServiceError(error: unknown, logger: Logger): Partial<ServiceError> {
  const failure = toSwitchboardError(error);
  if (failure.code === 'internal' && !(error instanceof SwitchboardError)) {
    logger.error({ err: error }, 'gRPC call failed');
  }
  return statusOf(failure.code, failure.message, failure.details);
}

export function statusOf(code: ErrorCode, message: string, details?: Readonly<Record<string, unknown>>): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, code);
  if (details) metadata.set(ERROR_DETAILS_KEY, JSON.stringify(details));
  return { code: new SwitchboardError(code).grpcStatus as status, details: message, metadata };
}
