import { Delivery } from '../core/delivery.js';
import { toSwitchboardError, type SwitchboardError } from '../core/errors.js';
import type { ChannelId, Seq } from '../core/types.js';
import type { Call } from './call.js';
import type { CommandPipeline } from './pipeline.js';

/** Where a client left its server-side subscriptions: the last seq seen in each, and the epoch it is in. */
export interface ServerSidePositions {
  readonly positions?: Readonly<Record<ChannelId, Seq>>;
  /** The channel epoch of each position, where the client kept it: a position in a deleted epoch is not resumed. */
  readonly epochs?: Readonly<Record<ChannelId, number>>;
}

/**
 * Subscribes a new connection to its server-side channels (the connect hook's `channels`,
 * or the token's `channels` claim), each resuming after the position the client last saw
 * there: the same `subscribe` command a client sends (rules and subscribe hooks included),
 * free of charge. A channel that is refused is reported to `refused` and left out.
 * `channels`: which of them (a wire that carries some itself passes the rest).
 *
 * A position in an epoch of the channel since deleted (`stale_epoch`) is what the SDK's own
 * subscriptions start over from 0 of the current epoch for; here the server does that for
 * the client: the session is sent `channelDeleted` for the epoch the position was in (so
 * the client forgets it), then every event of the current epoch from seq 1.
 */
export async function subscribeServerSide(
  pipeline: CommandPipeline,
  call: Call,
  resume: ServerSidePositions,
  refused: (channel: ChannelId, error: SwitchboardError) => void,
  channels: readonly ChannelId[] = call.principal.channels ?? [],
): Promise<{ channel: ChannelId; seq: Seq; epoch: number }[]> {
  const subscribed: { channel: ChannelId; seq: Seq; epoch: number }[] = [];
  for (const channel of channels) {
    const since = resume.positions?.[channel];
    const epoch = since === undefined ? undefined : resume.epochs?.[channel];
    try {
      let result;
      try {
        result = await pipeline.run('subscribe', since === undefined ? { channel } : { channel, since, epoch }, call, { charge: false });
      } catch (error) {
        if (epoch === undefined || toSwitchboardError(error).code !== 'stale_epoch') throw error;
        call.session?.sink.deliver(new Delivery({ type: 'channelDeleted', channel, epoch, at: Date.now() }));
        result = await pipeline.run('subscribe', { channel, since: 0 }, call, { charge: false });
      }
      subscribed.push({ channel: result.channel, seq: result.seq, epoch: result.epoch });
    } catch (error) {
      refused(channel, toSwitchboardError(error));
    }
  }
  return subscribed;
}
