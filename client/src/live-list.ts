import { callSafely } from './emitter.js';
import type { ClientError } from './errors.js';
import type { ChannelId, CommandRequest, CommandResult, ListChange, ListItems, ListName, UserId } from './protocol.js';

/** What a live list needs from the client. */
export interface ListHost {
  /** `list.subscribe`, sent on the next connection if this one drops first. */
  follow(target: CommandRequest<'list.subscribe'>): Promise<CommandResult<'list.subscribe'>>;
  request(name: 'list.unsubscribe', input: CommandRequest<'list.unsubscribe'>): Promise<null>;
  on(name: 'connected', listener: () => void): () => void;
  on(name: 'list', listener: (change: ListChange) => void): () => void;
}

export type ListTarget<L extends ListName> = L extends 'members'
  ? { readonly list: L; readonly channel: ChannelId }
  : L extends 'users'
    ? { readonly list: L; readonly users: readonly UserId[] }
    : { readonly list: L };

export interface ListHandlers<L extends ListName> {
  /** The whole list: first, and again after every reconnect (changes made meanwhile are in it). */
  readonly onSnapshot: (items: ListItems[L][]) => void;
  /** One change; a change may repeat what the snapshot already holds (apply it idempotently). */
  readonly onChange: (change: ListChange<L>) => void;
  /** Following again after a reconnect failed (for example access to the channel was lost). */
  readonly onError?: (error: ClientError) => void;
}

/**
 * A live list (channels, a channel's members, chosen users): a snapshot, then changes,
 * followed again after every reconnect. Create it with `client.chat.followList`.
 */
export class LiveList<L extends ListName> {
  readonly target: ListTarget<L>;
  readonly #host: ListHost;
  readonly #handlers: ListHandlers<L>;
  #offChange: (() => void) | null = null;
  #offConnected: (() => void) | null = null;
  #closed = false;

  constructor(host: ListHost, target: ListTarget<L>, handlers: ListHandlers<L>) {
    this.#host = host;
    this.target = target;
    this.#handlers = handlers;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Follows the list; resolves once the first snapshot was handed over. */
  async start(): Promise<this> {
    // Listen first: the server may push a change before the snapshot (it follows, then reads).
    this.#offChange = this.#host.on('list', (change) => {
      if (!this.#closed && this.#matches(change)) callSafely(this.#handlers.onChange, change as ListChange<L>);
    });
    try {
      await this.#follow();
    } catch (error) {
      this.#stop();
      throw error;
    }
    this.#offConnected = this.#host.on('connected', () => void this.#followAgain());
    return this;
  }

  /** Stops following (here and on the server). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stop();
    await this.#host.request('list.unsubscribe', this.#target()).catch(() => {
      // Not followed any more anyway (the connection dropped, or the client closed).
    });
  }

  async #follow(): Promise<void> {
    const result = await this.#host.follow(this.#target());
    if (!this.#closed) callSafely(this.#handlers.onSnapshot, result.items as ListItems[L][]);
  }

  async #followAgain(): Promise<void> {
    try {
      await this.#follow();
    } catch (error) {
      if (this.#closed || (error as ClientError).code === 'closed') return;
      this.#stop();
      if (this.#handlers.onError) callSafely(this.#handlers.onError, error as ClientError);
    }
  }

  #stop(): void {
    this.#closed = true;
    this.#offChange?.();
    this.#offConnected?.();
  }

  #target(): CommandRequest<'list.subscribe'> {
    const { list, channel, users } = this.target as { list: ListName; channel?: ChannelId; users?: readonly UserId[] };
    return { list, channel, users: users && [...users] };
  }

  #matches(change: ListChange): boolean {
    const target = this.target as { list: ListName; channel?: ChannelId; users?: readonly UserId[] };
    if (change.list !== target.list) return false;
    if (change.list === 'members') return change.channel === target.channel;
    if (change.list === 'users') return target.users!.includes(change.item.user);
    return true;
  }
}
