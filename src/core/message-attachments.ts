import type { Attachment, ChannelEvent, ChannelId, FileId, Principal, Seq } from './types.js';

/**
 * What the hub asks of the module that keeps files (src/files) when a message carries
 * attachments: core stores what `prepare` returns in the event and knows nothing else of
 * files. A node without one refuses attachments. Messages without attachments never call it.
 */
export interface MessageAttachments {
  /**
   * Checks the files a principal attaches to a message in `channel` (after core's access
   * rules passed) and reserves them, so nothing removes them before the message commits.
   * Resolves with what the stored event carries, in the order given; throws a
   * SwitchboardError (`not_found`, `forbidden`, `bad_request`) to refuse the publish.
   */
  prepare(principal: Principal, channel: ChannelId, ids: readonly FileId[]): Promise<Attachment[]>;
  /** The message committed (or was a retry of one that had): the files belong to it now. */
  committed(ids: readonly FileId[], event: ChannelEvent, duplicate: boolean): Promise<void>;
  /** The publish failed after `prepare`: the reservation is dropped. */
  abandoned(ids: readonly FileId[]): Promise<void>;
  /** A message with attachments was deleted: its files are hidden now and removed later. */
  deleted(channel: ChannelId, seq: Seq): Promise<void>;
}
