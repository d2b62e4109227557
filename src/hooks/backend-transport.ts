import type { HookName, HookReply } from './hook-messages.js';

/** How one backend is reached (HTTP or gRPC): one attempt of one call, nothing more. */
export interface BackendTransport {
  /** Resolves with the backend's answer; rejects with a BackendFailure, or once `signal` aborts. */
  call(hook: HookName, request: object, signal: AbortSignal): Promise<HookReply>;
  close(): void;
}

/** The backend did not answer; `retryable` when another attempt may (a refused connection, a 5xx, UNAVAILABLE). */
export class BackendFailure extends Error {
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = 'BackendFailure';
    this.retryable = retryable;
  }
}
