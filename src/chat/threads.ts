import { SwitchboardError } from '../core/errors.js';
import type { ChannelEvent, ChannelId, Principal, Seq } from '../core/types.js';
import { type ChatContext, clampPage } from './chat-context.js';

/** A message and its replies (messages whose `replyTo` is its seq), oldest first; page on with `after`. */
export async function readThread(
  context: ChatContext,
  principal: Principal,
  input: { channel: ChannelId; seq: Seq; after?: Seq; limit?: number },
): Promise<{ root: ChannelEvent; replies: ChannelEvent[]; hasMore: boolean }> {
  await context.hub.getChannel(principal, input.channel);
  const root = await context.log.getEvent(input.channel, input.seq);
  if (!root || root.kind !== 'message') {
    throw new SwitchboardError('not_found', `No message with seq ${input.seq} in ${input.channel}.`);
  }
  const limit = clampPage(input.limit ?? 50);
  const replies = await context.tables.thread(input.channel, input.seq, { after: input.after, limit: limit + 1 });
  return { root, replies: replies.slice(0, limit), hasMore: replies.length > limit };
}
