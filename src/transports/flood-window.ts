/** How many refused frames a connection may collect within how long before it is judged a flood. */
export interface FloodLimits {
  /** Refused frames within `floodWindowMs` past which the connection is closed (4429). */
  readonly floodCloseAfter: number;
  readonly floodWindowMs: number;
}

/**
 * Judges whether a client ignores `rate_limited`: more than `floodCloseAfter` refused frames
 * within `floodWindowMs` (the window opens at a refusal). Counting refusals in a row would
 * never trip on a sustained flood, since the frame bucket lets one frame through whenever it
 * refills (every 10 ms at 100 a second); counting over time does, within a fraction of a
 * second at thousands of frames a second, while a client that backs off after a few
 * refusals never gets near it. Two numbers per connection; shared by /ws and Pusher sockets.
 *
 * @example
 *   if (!bucket.take()) {
 *     if (flood.refused()) return connection.close(CLOSE_CODES.rateLimited, 'message flood');
 *     return reply(rateLimitedError);
 *   }
 */
export class FloodWindow {
  readonly #limit: number;
  readonly #windowMs: number;
  #openedAt = -Infinity;
  #refusals = 0;

  constructor(limits: FloodLimits) {
    this.#limit = limits.floodCloseAfter;
    this.#windowMs = limits.floodWindowMs;
  }

  /** Counts one refused frame; true when that makes the connection a flood, to be closed. */
  refused(now: number = performance.now()): boolean {
    if (now - this.#openedAt >= this.#windowMs) {
      this.#openedAt = now;
      this.#refusals = 0;
    }
    return ++this.#refusals > this.#limit;
  }
}
