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
  /** Starts at a full period, so the first pass begins on the first tick. */
  #ticksSincePassStarted: number;

  constructor(members: ReadonlySet<T>, periodMs: number, visit: (member: T) => void) {
    this.#members = members;
    this.#visit = visit;
    const tickMs = Math.min(SWEEP_TICK_MS, periodMs);
    this.#ticksPerPeriod = Math.max(1, Math.floor(periodMs / tickMs));
    this.#ticksSincePassStarted = this.#ticksPerPeriod;
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    this.#ticksSincePassStarted++;
    // An iterator that no longer moves keeps the set's table as it was when the set last
    // shrank, with the members removed since (closed connections, their sockets): let go.
    if (this.#members.size === 0) this.#pass = null;
    if (this.#pass === null && !this.#startPassIfDue()) return;
    const slice = Math.ceil(this.#members.size / this.#ticksPerPeriod);
    for (let visited = 0; visited < slice; ) {
      const next = this.#pass!.next();
      if (next.done) {
        // A small set is done in fewer ticks than a period has: the next pass waits for it.
        this.#pass = null;
        if (!this.#startPassIfDue()) return;
        continue;
      }
      visited++;
      this.#visit(next.value);
    }
  }

  /** Passes start a period apart, so each member is visited once per period. */
  #startPassIfDue(): boolean {
    if (this.#ticksSincePassStarted < this.#ticksPerPeriod) return false;
    this.#ticksSincePassStarted = 0;
    this.#pass = this.#members.values();
    return true;
  }
}
