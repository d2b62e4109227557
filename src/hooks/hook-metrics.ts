import { Counter, Histogram, type Registry } from 'prom-client';
import type { HookName } from './hook-messages.js';

/** How a hook call ended, as counted. */
export type HookOutcome = 'allowed' | 'refused' | 'failed' | 'timeout';

/**
 * Per hook: calls by outcome (failures and timeouts are what `unavailable` answers come
 * from) and latency, in the node's /metrics registry.
 */
export class HookMetrics {
  readonly #calls: Counter<'hook' | 'outcome'>;
  readonly #seconds: Histogram<'hook'>;

  constructor(registry: Registry | null) {
    const registers = registry ? [registry] : [];
    this.#calls = new Counter({
      name: 'switchboard_hook_calls_total',
      help: "Calls to the app's backend by hook and outcome (allowed, refused, failed, timeout).",
      labelNames: ['hook', 'outcome'],
      registers,
    });
    this.#seconds = new Histogram({
      name: 'switchboard_hook_duration_seconds',
      help: "Time from asking the app's backend to its answer (or giving up), by hook.",
      labelNames: ['hook'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  record(hook: HookName, outcome: HookOutcome, seconds: number): void {
    this.#calls.inc({ hook, outcome });
    this.#seconds.observe({ hook }, seconds);
  }
}
