import type { AnnotationKind } from './store.js';
import type { ChannelEvent, ChannelId, ChannelType, FileId, PublishPolicy, Retention, Seq, UserId } from './types.js';

/** What the hub's callers pass and get back (the edge builds these from commands). */

export interface CreateChannelInput {
  readonly id?: ChannelId;
  readonly type: Exclude<ChannelType, 'inbox'>;
  readonly title?: string | null;
  readonly topic?: string | null;
  readonly publish?: PublishPolicy;
  /** Other users to add (for direct channels: the other participants). */
  readonly members?: readonly UserId[];
  /** What the channel keeps; absent: its namespace's setting, else durable. */
  readonly retention?: Retention;
}

export interface PublishInput {
  readonly channel: ChannelId;
  readonly text?: string | null;
  readonly data?: unknown;
  readonly cid?: string | null;
  readonly replyTo?: Seq | null;
  /** Uploaded files to attach, resolved by the hub's MessageAttachments (see useAttachments). */
  readonly attachments?: readonly FileId[];
}

export interface PublishResult {
  readonly event: ChannelEvent;
  /** True when the `cid` had been stored before: nothing new was written or sent. */
  readonly duplicate: boolean;
}

export interface EditInput {
  readonly channel: ChannelId;
  readonly seq: Seq;
  readonly text?: string | null;
  readonly data?: unknown;
}

export interface HistoryInput {
  readonly channel: ChannelId;
  readonly before?: Seq;
  readonly after?: Seq;
  /** A page centred on this seq: half up to it, the rest after it. */
  readonly around?: Seq;
  readonly limit?: number;
}

/** A module's annotation of message `target` (chat: a reaction, with the emoji as `text`). */
export interface AnnotateInput {
  readonly kind: AnnotationKind;
  readonly channel: ChannelId;
  readonly target: Seq;
  readonly text: string;
}
