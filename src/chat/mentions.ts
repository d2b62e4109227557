import { inboxChannelOf, USER_ID_PATTERN } from '../core/names.js';
import type { ChannelEvent } from '../core/types.js';
import { type ChatContext, SERVER } from './chat-context.js';

/** `@name` where name is a user id; an `@` inside a word (an e-mail address) is not a mention. */
const MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.@-]{1,64})/gu;
const MAX_MENTIONS = 20;

/**
 * The distinct names a text mentions, at most 20. Cheap enough for every publish: the
 * caller tests `text.includes('@')` first, so ordinary messages skip the regex entirely.
 *
 * @example mentionedNames('hi @bob and @carol.') // ['bob', 'carol']
 */
export function mentionedNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    // A sentence may end right after the name: "thanks @bob."
    const name = match[1]!.replace(/[.@-]+$/, '');
    if (USER_ID_PATTERN.test(name)) names.add(name);
    if (names.size >= MAX_MENTIONS) break;
  }
  return [...names];
}

/** Whether an inbox event is a mention notice (see notifyMentions). */
export function isMention(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'mention';
}

/**
 * Mentions: a message that names users (`@bob`) puts a notice in the inbox of every
 * mentioned user who may read it. The only chat work on the publish path is one
 * `includes('@')` test per message.
 */
export class Mentions {
  readonly #context: ChatContext;

  constructor(context: ChatContext) {
    this.#context = context;
  }

  published(event: ChannelEvent): void {
    if (event.kind !== 'message' || event.text === null || !event.text.includes('@')) return;
    const names = mentionedNames(event.text);
    if (names.length === 0) return;
    this.#notify(event, names).catch((error: unknown) => {
      this.#context.logger.warn({ err: error, channel: event.channel, seq: event.seq }, 'mention notices failed');
    });
  }

  async #notify(event: ChannelEvent, names: readonly string[]): Promise<void> {
    const { hub, tables } = this.#context;
    const channel = await hub.getChannel(SERVER, event.channel);
    if (channel.type === 'inbox') return;
    const users = (await tables.findUsers(names)).map((u) => u.id).filter((id) => id !== event.author);
    if (users.length === 0) return;
    const readers = channel.type === 'public' ? users : await tables.membersAmong(channel.id, users);
    for (const user of readers) {
      await hub.publish(SERVER, {
        channel: inboxChannelOf(user),
        data: { type: 'mention', channel: event.channel, seq: event.seq, author: event.author, text: event.text },
        // Idempotent: a retried notice for the same message is stored once.
        cid: `mention:${event.channel}:${event.seq}`,
      });
    }
  }
}
