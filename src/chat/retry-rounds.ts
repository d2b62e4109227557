/** How soon work the database could not do is tried again. */
const RETRY_MS = 1000;

/**
 * One timer for work that waits for the database to answer again. A round runs a second
 * after `soon()`, the next only once it ended (a database that stays away costs one
 * round in flight, however much waits), and another follows while `waiting()` says so.
 * The round does all that waits at once, so its reads share the batchers' queries.
 *
 * @example
 *   const rounds = new RetryRounds(() => readWaiting(), () => pending.size > 0);
 *   rounds.soon(); // something failed with `unavailable`
 *   await rounds.idle(); // the round under way, if any (shutdown)
 *   rounds.close(); // no more rounds: the database closes next
 */
export class RetryRounds {
  /** Must not reject: a failure it cannot handle is its own to log. */
  readonly #round: () => Promise<void>;
  readonly #waiting: () => boolean;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(round: () => Promise<void>, waiting: () => boolean) {
    this.#round = round;
    this.#waiting = waiting;
  }

  /** A round a second from now, unless one is due or under way (then its end looks again). */
  soon(): void {
    if (this.#timer || this.#running || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#round().finally(() => {
        this.#running = null;
        if (this.#waiting()) this.soon();
      });
    }, RETRY_MS);
    this.#timer.unref();
  }

  /** Settles the round under way, if any. */
  async idle(): Promise<void> {
    await this.#running;
  }

  /** No more rounds; one under way finishes, and its owner sees to it that it does nothing. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
