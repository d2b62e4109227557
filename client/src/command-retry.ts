import type { CommandName } from '../../protocol/commands.js';

/**
 * The commands the protocol marks `retry: false` in protocol/commands.ts: not safe to
 * send again when the connection dropped before their reply (they change something a
 * second time, or belong to the connection that dropped). Copied, because importing that
 * table at run time would put zod in the browser bundle; test/client-retry-table.test.ts
 * keeps the copy equal to `COMMANDS[name].retry` for every command.
 */
const NOT_RETRIED: ReadonlySet<CommandName> = new Set<CommandName>([
  'channel.create',
  'channel.delete',
  'channel.leave',
  'members.remove',
  'subscribe',
  'unsubscribe',
  'edit',
  'delete',
  'typing',
  'contacts.remove',
  'list.subscribe',
  'list.unsubscribe',
  'rpc',
]);

/** Whether a request may be sent again on the next connection: the protocol's `retry`. */
export function isRetried(name: CommandName): boolean {
  return !NOT_RETRIED.has(name);
}

/**
 * Stored writes carrying a `cid`, sent again after a pause when answered `unavailable` or
 * `rate_limited` (the server stored nothing; the cid makes a late duplicate harmless).
 */
export const RETRY_LATER: ReadonlySet<CommandName> = new Set<CommandName>(['publish', 'publish.batch', 'push']);
