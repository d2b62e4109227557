import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';

interface Joined {
  readonly work: (trx: Kysely<any>) => Promise<unknown>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * SQLite's soft transactions (SqlDialect.softRows), merged: a work asked for while
 * one is open joins it, in a savepoint of its own, and one commit ends them all. A connect
 * storm's round writes its users and its status changes (two batchers, two works); merged,
 * the round pays one commit and one switch of the durability setting instead of two (a
 * commit and the switch cost ~100 µs of a round of ~35 connects).
 *
 * A work that fails is rolled back to its savepoint and fails alone; the others commit. A
 * work's promise settles once the commit did, so nothing is reported written before it is.
 * Each batcher has one write in flight at a time, so a transaction takes at most one work
 * from each and always ends.
 */
export class SqliteSoftTransactions {
  readonly #file: BetterSqlite3.Database;
  readonly #unavailable: (error: unknown) => unknown;
  readonly #statements: Record<'relax' | 'restore' | 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackToSavepoint', BetterSqlite3.Statement>;
  /** Works waiting to run in the open transaction; null when none is open. */
  #joined: Joined[] | null = null;

  /**
   * @param synchronous the file's own durability setting, restored after each transaction.
   * @param unavailable what a failure becomes (an outage turns into `unavailable`).
   */
  constructor(file: BetterSqlite3.Database, synchronous: 'FULL' | 'NORMAL', unavailable: (error: unknown) => unknown) {
    this.#file = file;
    this.#unavailable = unavailable;
    // Compiled once: a connect storm makes a transaction per round.
    this.#statements = {
      relax: file.prepare('pragma synchronous = NORMAL'),
      restore: file.prepare(`pragma synchronous = ${synchronous}`),
      begin: file.prepare('begin'),
      commit: file.prepare('commit'),
      rollback: file.prepare('rollback'),
      savepoint: file.prepare('savepoint work'),
      release: file.prepare('release work'),
      rollbackToSavepoint: file.prepare('rollback to work'),
    };
  }

  run<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const joined: Joined = { work: work as Joined['work'], resolve: resolve as Joined['resolve'], reject };
      if (this.#joined) {
        this.#joined.push(joined);
        return;
      }
      const transaction = [joined];
      this.#joined = transaction;
      // The connection is held throughout, so no other statement runs on the file meanwhile
      // and no other commit with the relaxed setting.
      db.connection()
        .execute((connection) => this.#runJoined(connection as Kysely<any>, transaction))
        .catch((error: unknown) => {
          // The connection could not be had (the database is closing), or a rollback or the
          // restoring of the setting failed: every work still waiting fails.
          for (const waiting of transaction.splice(0)) waiting.reject(this.#unavailable(error));
          if (this.#joined === transaction) this.#joined = null;
        });
    });
  }

  /**
   * Runs the transaction's works until none waits, each in its savepoint, then commits them
   * all. A work must not ask for a soft transaction itself: it would wait for its own.
   */
  async #runJoined(connection: Kysely<any>, transaction: Joined[]): Promise<void> {
    const { relax, restore, begin, commit, rollback, savepoint, release, rollbackToSavepoint } = this.#statements;
    // Worked, to be told once the commit is done.
    let done: { joined: Joined; result: unknown }[] = [];
    const failDone = (error: unknown) => {
      for (const { joined } of done) joined.reject(this.#unavailable(error));
      done = [];
    };
    let joined: Joined | undefined;
    try {
      relax.run();
      begin.run();
      for (joined = transaction.shift(); joined; joined = transaction.shift()) {
        try {
          savepoint.run();
          const result = await joined.work(connection);
          release.run();
          done.push({ joined, result });
        } catch (error) {
          joined.reject(this.#unavailable(error));
          if (this.#file.inTransaction) {
            rollbackToSavepoint.run();
            release.run();
          } else {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): the
            // works before went with it, and the rest start a new one.
            failDone(error);
            begin.run();
          }
        }
      }
      // Works asked for from now on wait for the connection and open the next transaction.
      this.#joined = null;
      commit.run();
    } catch (error) {
      // One of the transaction's own statements failed (begin, a savepoint's, the commit):
      // nothing of it stays written. The work in hand fails too (if its own failure was
      // told already, this changes nothing).
      joined?.reject(this.#unavailable(error));
      failDone(error);
      for (const waiting of transaction.splice(0)) waiting.reject(this.#unavailable(error));
      if (this.#joined === transaction) this.#joined = null;
      try {
        if (this.#file.inTransaction) rollback.run();
      } finally {
        restore.run();
      }
      return;
    }
    // Committed: told before the setting is restored, so that a failure there (the file
    // closing) cannot report written works as lost.
    for (const worked of done) worked.joined.resolve(worked.result);
    restore.run();
  }
}
