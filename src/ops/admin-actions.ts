import { toSwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CommandPipeline } from '../edge/pipeline.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import type { ClusterView } from './cluster-view.js';
import type { Operator } from './operator-access.js';

/** Where an action came from, for the audit log. */
export interface ActionContext {
  readonly operator: Operator;
  readonly address: string | null;
}

/**
 * What an operator can do from the console, for the whole cluster. Each action runs as
 * a command through the shared pipeline with the operator's own principal (an API key's
 * server principal, or the admin's account), so it obeys the rules every wire obeys and
 * its effects reach every node the way that command's do; what lives in each node's
 * memory (its sessions) is reached by asking every node. Every action, refused ones
 * included, is written to the audit log.
 */
export class AdminActions {
  readonly #pipeline: CommandPipeline;
  readonly #cluster: ClusterView;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #nodeName: () => string;

  constructor(options: {
    readonly pipeline: CommandPipeline;
    readonly cluster: ClusterView;
    readonly audit: AuditLog;
    readonly logger: Logger;
    /** This node's name in the cluster view (`host:port`). */
    readonly nodeName: () => string;
  }) {
    this.#pipeline = options.pipeline;
    this.#cluster = options.cluster;
    this.#audit = options.audit;
    this.#logger = options.logger;
    this.#nodeName = options.nodeName;
  }

  /** Runs a command as the operator (reads, and the writes below). */
  run(context: ActionContext, name: string, input: unknown): Promise<unknown> {
    return this.#pipeline.run(name, input, { principal: context.operator.principal, session: null, wire: 'http' });
  }

  /**
   * Ends every session of the user on every node (the hub's `endSessionsOf` on each): each
   * is told `close` with `reconnect: false` and closed with 4403, so the SDK does not come
   * back by itself. The user may connect again (a ban keeps them out).
   */
  disconnectUser(context: ActionContext, user: string): Promise<{ user: string; disconnected: number; missing?: string[] }> {
    return this.#audited(
      context,
      'users.disconnect',
      user,
      () => this.run(context, 'users.disconnect', { user }) as Promise<{ user: string; disconnected: number; missing?: string[] }>,
      ({ disconnected, missing }) => ({ disconnected, ...(missing ? { missing } : {}) }),
    );
  }

  /** `users.ban`: the user's sessions end everywhere and they cannot authenticate until unbanned. */
  banUser(context: ActionContext, user: string, reason: string | undefined): Promise<unknown> {
    const detail = reason ? { reason } : {};
    return this.#audited(context, 'users.ban', user, () => this.run(context, 'users.ban', { user, ...detail }), () => detail, detail);
  }

  unbanUser(context: ActionContext, user: string): Promise<unknown> {
    return this.#audited(context, 'users.unban', user, async () => {
      await this.run(context, 'users.unban', { user });
      return { user, unbanned: true };
    });
  }

  /**
   * `channel.delete`: the channel and its history. The hub ends every subscription to it on
   * every node (`channelDeleted`); `unsubscribed` counts them, asked of every node just before.
   */
  deleteChannel(context: ActionContext, channel: string): Promise<{ channel: string; closed: true; unsubscribed: number; missing?: string[] }> {
    return this.#audited(
      context,
      'channel.delete',
      channel,
      async () => {
        const { answers, missing } = await this.#cluster.ask<{ subscribers: number }>({ type: 'subscribers', channel });
        await this.run(context, 'channel.delete', { channel });
        const unsubscribed = answers.reduce((sum, { answer }) => sum + answer.subscribers, 0);
        return { channel, closed: true as const, unsubscribed, ...(missing.length > 0 ? { missing: [...missing] } : {}) };
      },
      ({ unsubscribed, missing }) => ({ unsubscribed, ...(missing ? { missing } : {}) }),
    );
  }

  /**
   * Archiving keeps the channel, its history and its subscriptions, and makes it read-only
   * (`channel.update` with `archived`): publish, edit, delete and reactions answer `archived`.
   * `archived: false` (unarchive) makes it writable again.
   */
  archiveChannel(context: ActionContext, channel: string, archived = true): Promise<unknown> {
    return this.#audited(
      context,
      archived ? 'channel.archive' : 'channel.unarchive',
      channel,
      () => this.run(context, 'channel.update', { channel, archived }),
      () => ({ archived }),
    );
  }

  removeMember(context: ActionContext, channel: string, user: string): Promise<{ channel: string; user: string; removed: true }> {
    return this.#audited(context, 'members.remove', `${user} in ${channel}`, async () => {
      await this.run(context, 'members.remove', { channel, user });
      return { channel, user, removed: true as const };
    });
  }

  audit(options: { readonly limit: number; readonly before?: { at: number; id: string } }): Promise<AuditEntry[]> {
    return this.#audit.list(options);
  }

  /**
   * Runs an action and writes it to the audit log: `detail` says what it did, `asked`
   * what was asked (kept with a refusal too, beside the refusal's message).
   */
  async #audited<T>(
    context: ActionContext,
    action: string,
    target: string,
    work: () => Promise<T>,
    detail: (result: T) => Record<string, unknown> = () => ({}),
    asked: Record<string, unknown> = {},
  ): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      const failure = toSwitchboardError(error);
      await this.#record(context, action, target, failure.code, { ...asked, message: failure.message });
      throw error;
    }
    await this.#record(context, action, target, 'ok', detail(result));
    return result;
  }

  async #record(context: ActionContext, action: string, target: string, outcome: string, detail: Record<string, unknown>): Promise<void> {
    try {
      await this.#audit.record({
        actor: context.operator.actor,
        actorKind: context.operator.kind,
        address: context.address,
        action,
        target,
        outcome,
        detail,
        node: this.#nodeName(),
      });
    } catch (error) {
      // The action has happened; say so in the logs rather than fail it afterwards.
      this.#logger.error({ err: error, action, target, outcome, actor: context.operator.actor }, 'admin action not written to the audit log');
    }
  }
}
