export interface BackoffOptions {
  /** Ceiling of the first delay. Default 500 ms. */
  readonly initialDelayMs: number;
  /** No delay is ever longer. Default 30 s. */
  readonly maxDelayMs: number;
  /** Growth of the ceiling per attempt. Default 2. */
  readonly factor: number;
  /** A source of numbers in [0, 1); tests pass a fixed one. Default Math.random. */
  readonly random: () => number;
}

export const defaultBackoff: BackoffOptions = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  random: Math.random,
};

/** The largest delay attempt `n` (0-based) may wait: exponential, capped. */
export function backoffCeiling(attempt: number, options: BackoffOptions = defaultBackoff): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
}

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform delay
 * between 0 and the ceiling, so clients dropped together by one server do not come back
 * together and knock it over again.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = defaultBackoff): number {
  return Math.floor(options.random() * backoffCeiling(attempt, options));
}
