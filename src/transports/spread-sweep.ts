/** How often a sweep wakes up; a period is covered in period / SWEEP_TICK_MS slices. */
const SWEEP_TICK_MS = 100;

/**
 * Visits every member of a live set once per period, a slice at a time, so no single
 * tick does the whole set: pinging 10,000 sockets in one loop stalls every delivery for
 * hundreds of milliseconds. Members added meanwhile are visited in the current pass,
 * members removed are skipped.
 */
export class SpreadSweep<T> {
  readonly #members: ReadonlySet<T>;
  readonly #visit: (member: T) => void;
  readonly #ticksPerPeriod: number;
  readonly #timer: NodeJS.Timeout;
  #pass: Iterator<T> | null = null;

  constructor(members: ReadonlySet<T>, periodMs: number, visit: (member: T) => void) {
    this.#members = members;
    this.#visit = visit;
    const tickMs = Math.min(SWEEP_TICK_MS, periodMs);
    this.#ticksPerPeriod = Math.max(1, Math.floor(periodMs / tickMs));
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const slice = Math.ceil(this.#members.size / this.#ticksPerPeriod);
    this.#pass ??= this.#members.values();
    for (let visited = 0; visited < slice; visited++) {
      const next = this.#pass.next();
      if (next.done) {
        // The next pass starts on the next tick, so no member is visited twice in one.
        this.#pass = null;
        return;
      }
      this.#visit(next.value);
    }
  }
}
