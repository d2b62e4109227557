import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

/** The audit table (migration 0006-ops). Times are epoch milliseconds. */
type AuditTables = {
  ops_audit: {
    id: string;
    at: number;
    actor: string;
    actor_kind: string;
    address: string | null;
    action: string;
    target: string;
    outcome: string;
    detail: string;
    node: string;
  };
};

/** One action an operator took, as the console lists it. */
export interface AuditEntry {
  readonly id: string;
  readonly at: number;
  /** A user id (an admin-role account), or `server` for an API key. */
  readonly actor: string;
  /** `server` (an API key), `user` (an admin-role account), `local` (open auth on loopback, no key). */
  readonly actorKind: string;
  /** The client address the request came from. */
  readonly address: string | null;
  /** What was done: `users.disconnect`, `channel.delete`, `channel.archive`, `members.remove`, `users.ban` ... */
  readonly action: string;
  readonly target: string;
  /** `ok`, or the error code it was refused with. */
  readonly outcome: string;
  readonly detail: Readonly<Record<string, unknown>>;
  /** The node that ran it. */
  readonly node: string;
}

/**
 * The durable record of admin actions, shared by the cluster (it lives in the database).
 * Written after each action, refused ones included, so the log says who tried what.
 */
export class AuditLog {
  readonly #db: Kysely<AuditTables>;

  constructor(database: Database) {
    this.#db = database.tables<AuditTables>();
  }

  async record(entry: Omit<AuditEntry, 'id' | 'at'>, at = Date.now()): Promise<AuditEntry> {
    const row = { ...entry, id: randomUUID(), at };
    await this.#db
      .insertInto('ops_audit')
      .values({
        id: row.id,
        at: row.at,
        actor: row.actor,
        actor_kind: row.actorKind,
        address: row.address,
        action: row.action,
        target: row.target,
        outcome: row.outcome,
        detail: JSON.stringify(row.detail),
        node: row.node,
      })
      .execute();
    return row;
  }

  /** Newest first; `before` pages back (an entry's `at` and `id`). */
  async list(options: { readonly limit: number; readonly before?: { at: number; id: string } }): Promise<AuditEntry[]> {
    let query = this.#db.selectFrom('ops_audit').selectAll();
    const before = options.before;
    if (before) {
      query = query.where((eb) => eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]));
    }
    const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map((row) => ({
      id: row.id,
      at: Number(row.at),
      actor: row.actor,
      actorKind: row.actor_kind,
      address: row.address,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
      node: row.node,
    }));
  }
}
