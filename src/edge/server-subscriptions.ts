import { toSwitchboardError, type SwitchboardError } from '../core/errors.js';
import type { ChannelId, Seq } from '../core/types.js';
import type { Call } from './call.js';
import type { CommandPipeline } from './pipeline.js';

/**
 * Subscribes a new connection to its server-side channels (the connect hook's `channels`,
 * or the token's `channels` claim), each resuming after the position the client last saw
 * there: the same `subscribe` command a client sends (rules and subscribe hooks included),
 * free of charge. A channel that is refused is reported to `refused` and left out.
 */
export async function subscribeServerSide(
  pipeline: CommandPipeline,
  call: Call,
  positions: Readonly<Record<ChannelId, Seq>> | undefined,
  refused: (channel: ChannelId, error: SwitchboardError) => void,
): Promise<{ channel: ChannelId; seq: Seq }[]> {
  const channels = call.principal.channels ?? [];
  const subscribed: { channel: ChannelId; seq: Seq }[] = [];
  for (const channel of channels) {
    const since = positions?.[channel];
    try {
      const result = await pipeline.run('subscribe', since === undefined ? { channel } : { channel, since }, call, { charge: false });
      subscribed.push({ channel: result.channel, seq: result.seq });
    } catch (error) {
      refused(channel, toSwitchboardError(error));
    }
  }
  return subscribed;
}
