import type { Attachment, FileLinks } from '../../protocol/values.js';
import type { Logger } from '../core/logger.js';
import type { MessageAttachments } from '../core/message-attachments.js';
import type { ChannelEvent, ChannelId, FileId, Principal, Seq } from '../core/types.js';
import type { FileAttachment, FileDescriptor, Files } from './files.js';

/**
 * How long a publish waits for thumbnails still being made, so the stored event says
 * `ready` for an image uploaded a moment before (the usual case). Past it the event says
 * `pending`, and `files.get` tells the state later.
 */
const THUMBNAIL_WAIT_MS = 2000;

/**
 * The files module as the hub's MessageAttachments: a publish's file ids become the
 * attachments its event carries (the uploader's own files, uploaded for that channel),
 * reserved until the message commits, referenced by it afterwards, and hidden when it is
 * deleted (the collector removes them after the grace period).
 */
export function messageFiles(files: Files, logger: Logger): MessageAttachments {
  return {
    async prepare(principal: Principal, channel: ChannelId, ids: readonly FileId[]): Promise<Attachment[]> {
      const attachments = await files.prepareAttachments(principal, channel, ids, { thumbnailWaitMs: THUMBNAIL_WAIT_MS });
      return attachments.map(toAttachment);
    },
    async committed(ids: readonly FileId[], event: ChannelEvent, duplicate: boolean): Promise<void> {
      // A retry of a stored message refers to the files the first attempt attached; any
      // other id it names goes back to being unattached.
      const kept = duplicate ? new Set((event.attachments ?? []).map((attachment) => attachment.id)) : new Set(ids);
      const released = ids.filter((id) => !kept.has(id));
      if (released.length > 0) await files.release(released);
      const lost = await files.attach([...kept], { channel: event.channel, seq: event.seq });
      if (lost.length > 0) logger.warn({ channel: event.channel, seq: event.seq, files: lost }, 'attached files were gone by the commit');
    },
    async abandoned(ids: readonly FileId[]): Promise<void> {
      await files.release(ids);
    },
    async deleted(channel: ChannelId, seq: Seq): Promise<void> {
      await files.detach({ channel, seq });
    },
  };
}

/** The protocol's view of a file in a message: the thumbnail's state rather than its size. */
export function toAttachment(file: FileAttachment): Attachment {
  const thumbnail = file.thumbnail === null ? 'none' : file.thumbnail === 'pending' ? 'pending' : 'ready';
  return { id: file.id, name: file.name, size: file.size, type: file.type, width: file.width, height: file.height, thumbnail };
}

/** The protocol's view of a file with its links (`files.get`). */
export function toFileLinks(file: FileDescriptor): FileLinks {
  return {
    ...toAttachment(file),
    channel: file.channel,
    url: file.url,
    thumbnailUrl: file.thumbnailUrl,
    urlsExpireAt: file.urlsExpireAt,
  };
}
