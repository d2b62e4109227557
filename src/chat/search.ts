import { SwitchboardError } from '../core/errors.js';
import type { ChannelEvent, ChannelId, Principal, UserId } from '../core/types.js';
import { type ChatContext, clampPage } from './chat-context.js';
import type { SearchCursor } from './chat-store.js';

export interface SearchInput {
  readonly text: string;
  readonly channel?: ChannelId;
  readonly author?: UserId;
  readonly before?: SearchCursor;
  readonly limit?: number;
}

/**
 * Messages with every word of `text`, newest first, only from channels the principal may
 * read. `next` is the `before` of the following page (null on the last).
 */
export async function search(
  context: ChatContext,
  principal: Principal,
  input: SearchInput,
): Promise<{ results: ChannelEvent[]; next: SearchCursor | null }> {
  if (!/[\p{L}\p{N}_]/u.test(input.text)) throw new SwitchboardError('bad_request', 'Search needs a word to look for.');
  if (input.channel !== undefined) await context.hub.getChannel(principal, input.channel);
  const limit = clampPage(input.limit ?? 20);
  const found = await context.tables.search({
    text: input.text,
    readableBy: principal.kind === 'server' ? null : principal.userId,
    channel: input.channel,
    author: input.author,
    before: input.before,
    limit: limit + 1,
  });
  const results = found.slice(0, limit);
  const last = results.at(-1);
  return {
    results,
    next: found.length > limit && last ? { createdAt: last.createdAt, channel: last.channel, seq: last.seq } : null,
  };
}
