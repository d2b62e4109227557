import type { ReactionCount } from '../../protocol/values.js';
import { SwitchboardError } from '../core/errors.js';
import type { ChannelEvent, ChannelId, Principal, Seq } from '../core/types.js';
import type { ChatContext } from './chat-context.js';

/**
 * Reactions: `reaction` / `unreaction` events in the channel's log (so live subscribers
 * and resumes carry them), written by the store together with the per-emoji aggregate
 * (reactionWriter in chat-store.ts).
 */
export class Reactions {
  readonly #context: ChatContext;

  constructor(context: ChatContext) {
    this.#context = context;
  }

  /**
   * Adds or removes the principal's reaction to a message. Reacting twice with one emoji,
   * or removing a reaction that is not there, changes nothing and returns null.
   */
  react(principal: Principal, input: { channel: ChannelId; seq: Seq; emoji: string; remove?: boolean }): Promise<ChannelEvent | null> {
    if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'Reactions belong to users.');
    const { channel, seq, emoji } = input;
    const adding = !input.remove;
    return this.#context.hub.annotate(
      principal,
      { kind: adding ? 'reaction' : 'unreaction', channel, target: seq, text: emoji },
      // A repeat is answered from the aggregate; the store checks again under its lock.
      { unchanged: async () => (await this.#context.tables.hasReaction(channel, seq, emoji, principal.userId)) === adding },
    );
  }

  /** Counts per emoji for each of the messages. */
  async counts(principal: Principal, id: ChannelId, seqs: readonly Seq[]): Promise<Record<Seq, ReactionCount[]>> {
    await this.#context.hub.getChannel(principal, id);
    return Object.fromEntries(await this.#context.tables.reactionsOf(id, seqs));
  }
}
