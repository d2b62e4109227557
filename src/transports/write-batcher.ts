export interface WriteBatchSettings {
  /** Longest a flush is put off under load, in ms; 0: flushed every tick, never delayed. */
  readonly maxDelayMs: number;
  /** Frames one socket write carries at most; a connection with this many waiting writes them at once. */
  readonly maxFramesPerWrite: number;
}

export const DEFAULT_WRITE_BATCH: WriteBatchSettings = { maxDelayMs: 25, maxFramesPerWrite: 64 };

/** A connection with frames waiting: `flushBatch` hands them to its socket. */
export interface BatchedConnection {
  flushBatch(): void;
}

export interface WriteBatchStats {
  /** Frames handed to sockets, and the socket writes that carried them. */
  frames: number;
  writes: number;
  /** Flush rounds, and those put off because the previous one was costly (load). */
  flushes: number;
  delayedFlushes: number;
}

/**
 * Below this wait a flush runs this tick, as if nothing were delayed: a timer cannot fire
 * sooner than 1 ms anyway, and such a round is cheap enough to run back to back.
 */
const MIN_DELAY_MS = 1;

/**
 * Rounds of at least this many connections are timed in CPU; smaller ones by the clock.
 * Reading the CPU time is a system call, and in a connect storm, where every round is a
 * welcome or two, two of them per round cost more than the round itself.
 */
const CPU_TIMED_FROM = 64;

/**
 * This thread's CPU time (the rounds run on it). `process.cpuUsage` sums every thread of
 * the process (libuv's pool, V8's helpers) and took ~130 µs a call in a server mid-storm;
 * `threadCpuUsage` (Node 23.9+) reads this thread's alone.
 */
type CpuClock = (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
const threadCpu: CpuClock = (process as { threadCpuUsage?: CpuClock }).threadCpuUsage?.bind(process) ?? process.cpuUsage.bind(process);

/**
 * When the connections of one wire write what is due to them: the load-adaptive write
 * delay. At low load every flush happens at the end of the tick the frames were made in
 * (one write per socket per tick). Under load, writing into thousands of sockets is what
 * the node spends its time on, and one write per socket per publish is the ceiling; so
 * the next flush round waits as long as the last one took (at most `maxDelayMs`): flushing
 * then takes at most about half the node's time, and the frames that arrive meanwhile
 * leave together, several per write. The wait follows the measured cost, so a quiet node
 * (a round of a few sockets costs microseconds) delays nothing, and a round after a quiet
 * spell is not delayed either.
 *
 * It also joins each connection's frames into one buffer, once for every connection that
 * has the same frames waiting (a broadcast channel's subscribers, flushed one after another).
 */
export class WriteBatcher {
  readonly settings: WriteBatchSettings;
  readonly stats: WriteBatchStats = { frames: 0, writes: 0, flushes: 0, delayedFlushes: 0 };
  #due: BatchedConnection[] = [];
  #scheduled = false;
  /** When the last round ended (performance.now()) and the CPU time it took, in ms. */
  #lastEnd = -Infinity;
  #lastCost = 0;
  #lastParts: readonly Buffer[] = [];
  #lastJoined: Buffer | null = null;

  constructor(settings: WriteBatchSettings = DEFAULT_WRITE_BATCH) {
    this.settings = settings;
  }

  /** The connection has its first frame waiting since its last flush. */
  due(connection: BatchedConnection): void {
    this.#due.push(connection);
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#lastEnd + Math.min(this.settings.maxDelayMs, this.#lastCost) - performance.now();
    if (wait < MIN_DELAY_MS) {
      process.nextTick(this.#flush);
      return;
    }
    this.stats.delayedFlushes++;
    setTimeout(this.#flush, wait);
  }

  /**
   * `frames` as one buffer (up to maxFramesPerWrite of them), counted as one write. The
   * same frames as the previous call (by identity) give the same buffer, not a new copy.
   */
  join(frames: readonly Buffer[]): Buffer {
    this.stats.frames += frames.length;
    this.stats.writes++;
    if (frames.length === 1) return frames[0]!;
    const last = this.#lastParts;
    if (this.#lastJoined && last.length === frames.length && frames.every((frame, i) => frame === last[i])) return this.#lastJoined;
    this.#lastParts = frames;
    return (this.#lastJoined = Buffer.concat(frames as Buffer[]));
  }

  readonly #flush = (): void => {
    const due = this.#due;
    // A big round's cost is the CPU it used, not the wall time: on a busy machine another
    // process taking the core mid-round would otherwise look like load of our own.
    const cpuStart = due.length >= CPU_TIMED_FROM ? threadCpu() : null;
    const wallStart = performance.now();
    this.#due = [];
    this.#scheduled = false;
    for (const connection of due) connection.flushBatch();
    this.#lastParts = [];
    this.#lastJoined = null;
    this.stats.flushes++;
    this.#lastEnd = performance.now();
    if (cpuStart === null) this.#lastCost = this.#lastEnd - wallStart;
    else {
      const used = threadCpu(cpuStart);
      this.#lastCost = (used.user + used.system) / 1000;
    }
  };
}
