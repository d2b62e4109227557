import { randomUUID } from 'node:crypto';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import type { Channel, ChannelEvent, ChannelId, Member, UserId } from '../core/types.js';
import type { OutboxEntry } from './webhook-outbox.js';

export type WebhookEventType =
  | 'channel.created'
  | 'channel.deleted'
  | 'channel.occupied'
  | 'channel.vacated'
  | 'member.joined'
  | 'member.left'
  | 'message.created';

/** Reads a channel's members (the hub's, as the server), for those given at creation. */
export type MembersReader = (channel: ChannelId) => Promise<readonly Member[]>;

/** The body of every webhook POST. `id` is stable across retries: drop what you have seen. */
export interface WebhookEvent {
  readonly id: string;
  readonly type: WebhookEventType;
  /** When the change happened (epoch milliseconds). */
  readonly createdAt: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * Turns hub changes into webhook events and hands them to `record` (the outbox). Hub hooks
 * are synchronous, so events of one tick are collected and written together.
 * Occupied / vacated are reported per node (first subscriber here, last one gone).
 */
export class WebhookEvents implements HubObserver {
  readonly #record: (entries: OutboxEntry[]) => Promise<void>;
  readonly #logger: Logger;
  #batch: OutboxEntry[] | null = null;
  #writing: Promise<void> = Promise.resolve();

  readonly #members: MembersReader | null;
  /** Member reads under way (channel.created): their events are raised when they end. */
  readonly #reads = new Set<Promise<void>>();

  constructor(record: (entries: OutboxEntry[]) => Promise<void>, logger: Logger, members: MembersReader | null = null) {
    this.#record = record;
    this.#logger = logger;
    this.#members = members;
  }

  /** `channel.created`, then a `member.joined` for each member given at creation (the owner among them). */
  channelCreated(channel: Channel): void {
    if (channel.type === 'inbox') return;
    this.#add('channel.created', {
      channel: channel.id,
      channelType: channel.type,
      title: channel.title,
      publish: channel.publish,
      createdBy: channel.createdBy,
    });
    if (!this.#members) return;
    // The hook has no members at hand; read once. Members who joined after creation are
    // left out here: their own memberAdded reports them.
    const read = this.#members(channel.id).then(
      (members) => {
        for (const member of members) {
          if (member.joinedAt <= channel.createdAt) this.memberAdded(member);
        }
      },
      (error: unknown) => this.#logger.warn({ err: error, channel: channel.id }, 'webhook: members at creation could not be read'),
    );
    this.#reads.add(read);
    void read.then(() => this.#reads.delete(read));
  }

  channelDeleted(channel: ChannelId): void {
    this.#add('channel.deleted', { channel });
  }

  published(event: ChannelEvent): void {
    if (event.kind !== 'message') return;
    this.#add('message.created', {
      channel: event.channel,
      seq: event.seq,
      message: {
        id: event.id,
        author: event.author,
        text: event.text,
        data: event.data,
        cid: event.cid,
        replyTo: event.replyTo,
        createdAt: event.createdAt,
      },
    });
  }

  memberAdded(member: Member): void {
    this.#add('member.joined', { channel: member.channel, user: member.user, role: member.role });
  }

  memberRemoved(channel: ChannelId, user: UserId): void {
    this.#add('member.left', { channel, user });
  }

  channelOccupied(channel: ChannelId): void {
    this.#add('channel.occupied', { channel });
  }

  channelVacated(channel: ChannelId): void {
    this.#add('channel.vacated', { channel });
  }

  /** Resolves when every event raised so far is in the outbox. */
  async flushed(): Promise<void> {
    await Promise.all(this.#reads);
    return this.#writing;
  }

  #add(type: WebhookEventType, data: Record<string, unknown>): void {
    const event: WebhookEvent = { id: randomUUID(), type, createdAt: Date.now(), data };
    const entry = { eventId: event.id, body: JSON.stringify(event) };
    if (this.#batch) {
      this.#batch.push(entry);
      return;
    }
    const batch = (this.#batch = [entry]);
    // Writes are chained so the outbox receives events in the order they happened.
    this.#writing = this.#writing.then(
      () =>
        new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
          this.#batch = null;
          try {
            await this.#record(batch);
          } catch (error) {
            this.#logger.error({ err: error, events: batch.length }, 'webhook events could not be stored; they are lost');
          }
        }),
    );
  }
}
