import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { isErrorCode, SwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { BackendFailure, type BackendTransport } from './backend-transport.js';
import { CallSlots } from './call-slots.js';
import { HOOK_RESULTS, type HookName, type HookResult } from './hook-messages.js';
import type { HookMetrics } from './hook-metrics.js';

/** Hooks that only decide: asking again changes nothing at the backend. Publish and rpc may act, so they are asked once. */
const RETRYABLE: ReadonlySet<HookName> = new Set(['connect', 'refresh', 'subscribe']);
const FIRST_RETRY_MS = 25;

export interface BackendSettings {
  readonly name: string;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly retries: number;
}

/**
 * One app backend as the hooks use it: every call ends within `timeoutMs` (queueing for a
 * slot and retries included) with the backend's result, its refusal (a SwitchboardError
 * with the backend's code and message), or `unavailable`; never a hang. At most
 * `maxConcurrent` calls are in flight.
 *
 * @example
 *   const { user } = await client.call('connect', { transport: 'ws', user: null, headers, cookies });
 */
export class BackendClient {
  readonly #transport: BackendTransport;
  readonly #settings: BackendSettings;
  readonly #slots: CallSlots;
  readonly #metrics: HookMetrics;
  readonly #logger: Logger;

  constructor(transport: BackendTransport, settings: BackendSettings, metrics: HookMetrics, logger: Logger) {
    this.#transport = transport;
    this.#settings = settings;
    this.#slots = new CallSlots(settings.maxConcurrent);
    this.#metrics = metrics;
    this.#logger = logger;
  }

  async call<H extends HookName>(hook: H, request: object): Promise<HookResult<H>> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.#settings.timeoutMs);
    const seconds = () => (performance.now() - started) / 1000;
    let reply;
    try {
      reply = await this.#attempts(hook, request, signal);
    } catch (error) {
      const timedOut = signal.aborted;
      this.#metrics.record(hook, timedOut ? 'timeout' : 'failed', seconds());
      this.#logger.warn({ err: error, hook, backend: this.#settings.name }, timedOut ? 'hook timed out' : 'hook failed');
      throw new SwitchboardError(
        'unavailable',
        timedOut
          ? `The app's backend did not answer the ${hook} hook within ${this.#settings.timeoutMs} ms; retry.`
          : `The app's backend cannot answer the ${hook} hook right now; retry.`,
        { hook },
      );
    }
    if (reply.error) {
      this.#metrics.record(hook, 'refused', seconds());
      throw refusal(hook, reply.error);
    }
    const parsed = (HOOK_RESULTS[hook] as z.ZodType).safeParse(reply.result ?? {});
    if (!parsed.success) {
      this.#metrics.record(hook, 'failed', seconds());
      const issue = parsed.error.issues[0]!;
      this.#logger.warn({ hook, backend: this.#settings.name, issue: `${issue.path.join('.')}: ${issue.message}` }, 'hook result invalid');
      throw new SwitchboardError('unavailable', `The app's backend answered the ${hook} hook with a result Switchboard cannot use.`, { hook });
    }
    this.#metrics.record(hook, 'allowed', seconds());
    return parsed.data as HookResult<H>;
  }

  close(): void {
    this.#transport.close();
  }

  async #attempts(hook: HookName, request: object, signal: AbortSignal) {
    await this.#slots.acquire(signal);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#transport.call(hook, request, signal);
        } catch (error) {
          const again = RETRYABLE.has(hook) && error instanceof BackendFailure && error.retryable && attempt < this.#settings.retries;
          if (signal.aborted || !again) throw error;
          await sleep(FIRST_RETRY_MS * 2 ** attempt, undefined, { signal });
        }
      }
    } finally {
      this.#slots.release();
    }
  }
}

/**
 * The backend's refusal as the client sees it: its code when it is one of the protocol's
 * (`forbidden`, `bad_request` ...), otherwise `forbidden` with the backend's code in details.
 */
function refusal(hook: HookName, error: { readonly code: string; readonly message: string }): SwitchboardError {
  const message = error.message || `The app's backend refused the ${hook}.`;
  if (isErrorCode(error.code) && error.code !== 'internal') return new SwitchboardError(error.code, message, { hook });
  return new SwitchboardError('forbidden', message, { hook, backendCode: error.code });
}
