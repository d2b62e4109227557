import type { Kysely } from 'kysely';
import type { ChannelId, Seq, UserId } from '../core/types.js';
import type { Database } from '../store/database.js';

/** An uploaded file's id: `f` and 22 url-safe characters (128 random bits). */
export type FileId = string;

/** `uploaded`: in no message yet; `attached`: a message refers to it; `detached`: its messages were deleted (hidden). */
export type FileState = 'uploaded' | 'attached' | 'detached';

/** none: not an image we thumbnail; pending: queued or being made; ready; failed. */
export type ThumbnailState = 'none' | 'pending' | 'ready' | 'failed';

/** One upload, as stored. */
export interface StoredFile {
  readonly id: FileId;
  readonly channel: ChannelId;
  readonly uploader: UserId;
  readonly name: string;
  readonly size: number;
  /** Sniffed from the bytes, never taken from the client. */
  readonly type: string;
  readonly sha256: string;
  readonly width: number | null;
  readonly height: number | null;
  readonly uploadId: string | null;
  readonly createdAt: number;
  readonly state: FileState;
  readonly stateAt: number;
}

/** The bytes behind one or more files, stored once under their sha256. */
export interface StoredBlob {
  readonly sha256: string;
  readonly size: number;
  readonly type: string;
  readonly thumbState: ThumbnailState;
  readonly thumbWidth: number | null;
  readonly thumbHeight: number | null;
}

/** A message that refers to files: its channel and seq. */
export interface MessageRef {
  readonly channel: ChannelId;
  readonly seq: Seq;
}

interface FileTables {
  files: {
    id: string;
    channel: string;
    uploader: string;
    name: string;
    size: number;
    type: string;
    sha256: string;
    width: number | null;
    height: number | null;
    upload_id: string | null;
    created_at: number;
    state: FileState;
    state_at: number;
  };
  file_blobs: {
    sha256: string;
    size: number;
    type: string;
    touched_at: number;
    thumb_state: ThumbnailState;
    thumb_lease_until: number | null;
    thumb_width: number | null;
    thumb_height: number | null;
  };
  file_refs: { file_id: string; channel: string; seq: number };
  file_keys: { id: string; secret: string; created_at: number };
}

type FileRow = FileTables['files'];
type BlobRow = FileTables['file_blobs'];

/** States that count toward a user's quota and may be downloaded. */
const LIVE: readonly FileState[] = ['uploaded', 'attached'];
/** States the collector removes once they are older than the grace period. */
const COLLECTABLE: readonly FileState[] = ['uploaded', 'detached'];

/**
 * The files module's tables (migration 0005-files) on the database every module shares.
 * Every method is one statement or one short transaction; none holds file bytes.
 */
export class FileCatalog {
  readonly #db: Kysely<FileTables>;

  constructor(database: Database) {
    this.#db = database.tables<FileTables>();
  }

  /**
   * Records that an upload is about to point at these bytes: creates the blob row, or moves
   * an existing one's `touched_at` forward so the collector leaves it alone. Resolves with
   * the blob as stored (an existing blob keeps its thumbnail).
   */
  async touchBlob(blob: { sha256: string; size: number; type: string; thumbState: ThumbnailState }, now: number): Promise<StoredBlob> {
    await this.#db
      .insertInto('file_blobs')
      .values({
        sha256: blob.sha256,
        size: blob.size,
        type: blob.type,
        touched_at: now,
        thumb_state: blob.thumbState,
        thumb_lease_until: null,
        thumb_width: null,
        thumb_height: null,
      })
      .onConflict((oc) => oc.column('sha256').doUpdateSet({ touched_at: now }))
      .execute();
    return (await this.blob(blob.sha256))!;
  }

  async blob(sha256: string): Promise<StoredBlob | undefined> {
    const row = await this.#db.selectFrom('file_blobs').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return row && toBlob(row);
  }

  async insertFile(file: StoredFile): Promise<void> {
    await this.#db
      .insertInto('files')
      .values({
        id: file.id,
        channel: file.channel,
        uploader: file.uploader,
        name: file.name,
        size: file.size,
        type: file.type,
        sha256: file.sha256,
        width: file.width,
        height: file.height,
        upload_id: file.uploadId,
        created_at: file.createdAt,
        state: file.state,
        state_at: file.stateAt,
      })
      .execute();
  }

  async file(id: FileId): Promise<StoredFile | undefined> {
    const row = await this.#db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toFile(row);
  }

  async fileByUpload(uploadId: string): Promise<StoredFile | undefined> {
    const row = await this.#db.selectFrom('files').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
    return row && toFile(row);
  }

  /** Bytes a user's live files take (uploaded or attached): what the quota counts. */
  async usage(uploader: UserId): Promise<number> {
    const row = await this.#db
      .selectFrom('files')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('total'))
      .where('uploader', '=', uploader)
      .where('state', 'in', LIVE)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  // --- thumbnails -----------------------------------------------------------------

  /**
   * Claims one blob whose thumbnail is due, until `now + leaseMs`: a worker that dies
   * leaves it to another once the lease ends. Of two nodes claiming one blob, one wins.
   */
  async claimThumbnail(now: number, leaseMs: number): Promise<StoredBlob | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const due = await this.#db
        .selectFrom('file_blobs')
        .selectAll()
        .where('thumb_state', '=', 'pending')
        .where((eb) => eb.or([eb('thumb_lease_until', 'is', null), eb('thumb_lease_until', '<', now)]))
        .limit(1)
        .executeTakeFirst();
      if (!due) return undefined;
      const claimed = await this.#db
        .updateTable('file_blobs')
        .set({ thumb_lease_until: now + leaseMs })
        .where('sha256', '=', due.sha256)
        .where('thumb_state', '=', 'pending')
        .where((eb) => eb.or([eb('thumb_lease_until', 'is', null), eb('thumb_lease_until', '<', now)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 1) return toBlob(due);
    }
    return undefined;
  }

  /**
   * Queues a `ready` thumbnail again: its blob's bytes were just stored anew, because a
   * collection removed the objects but not the row (see deleteBlob), and the thumbnail went
   * with them. Resolves true when it is due now (false: not `ready`, nothing to remake).
   */
  async remakeThumbnail(sha256: string): Promise<boolean> {
    const updated = await this.#db
      .updateTable('file_blobs')
      .set({ thumb_state: 'pending', thumb_lease_until: null, thumb_width: null, thumb_height: null })
      .where('sha256', '=', sha256)
      .where('thumb_state', '=', 'ready')
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  async finishThumbnail(sha256: string, result: { width: number; height: number } | 'failed'): Promise<void> {
    await this.#db
      .updateTable('file_blobs')
      .set(
        result === 'failed'
          ? { thumb_state: 'failed', thumb_lease_until: null }
          : { thumb_state: 'ready', thumb_lease_until: null, thumb_width: result.width, thumb_height: result.height },
      )
      .where('sha256', '=', sha256)
      .execute();
  }

  // --- references -----------------------------------------------------------------

  /**
   * Records that a message refers to these files and marks them attached. Resolves with
   * the ids it could not attach (gone, or hidden by a delete), which the caller refuses.
   */
  async attach(ids: readonly FileId[], ref: MessageRef, now: number): Promise<FileId[]> {
    if (ids.length === 0) return [];
    return this.#db.transaction().execute(async (trx) => {
      const attached = await markAttached(trx, ids, now);
      const rows = [...attached].map((id) => ({ file_id: id, channel: ref.channel, seq: ref.seq }));
      if (rows.length > 0) await trx.insertInto('file_refs').values(rows).onConflict((oc) => oc.doNothing()).execute();
      return ids.filter((id) => !attached.has(id));
    });
  }

  /**
   * Pins files for a message about to be published: attached from now on, so the
   * collector leaves them alone even if the node stops before `attach` records the
   * message. Resolves with the ids it could not pin (gone, or hidden by a delete).
   */
  async pin(ids: readonly FileId[], now: number): Promise<FileId[]> {
    if (ids.length === 0) return [];
    const pinned = await markAttached(this.#db, ids, now);
    return ids.filter((id) => !pinned.has(id));
  }

  /** Unpins files whose message was not published after all (no message refers to them). */
  async release(ids: readonly FileId[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#db
      .updateTable('files')
      .set({ state: 'uploaded', state_at: now })
      .where('id', 'in', ids)
      .where('state', '=', 'attached')
      .where((eb) => eb.not(eb.exists(eb.selectFrom('file_refs').select('file_id').whereRef('file_refs.file_id', '=', 'files.id'))))
      .execute();
  }

  /**
   * Drops a message's references (it was deleted); files no message refers to any more are
   * hidden (`detached`) from now on. Resolves with the files that became detached.
   */
  async detach(ref: MessageRef, now: number): Promise<FileId[]> {
    return this.#db.transaction().execute(async (trx) => {
      const refs = await trx
        .selectFrom('file_refs')
        .select('file_id')
        .where('channel', '=', ref.channel)
        .where('seq', '=', ref.seq)
        .execute();
      if (refs.length === 0) return [];
      await trx.deleteFrom('file_refs').where('channel', '=', ref.channel).where('seq', '=', ref.seq).execute();
      const detached = await trx
        .updateTable('files')
        .set({ state: 'detached', state_at: now })
        .where(
          'id',
          'in',
          refs.map((row) => row.file_id),
        )
        .where((eb) => eb.not(eb.exists(eb.selectFrom('file_refs').select('file_id').whereRef('file_refs.file_id', '=', 'files.id'))))
        .returning('id')
        .execute();
      return detached.map((row) => row.id);
    });
  }

  /** The messages that refer to a file. */
  async refsOf(id: FileId): Promise<MessageRef[]> {
    const rows = await this.#db.selectFrom('file_refs').select(['channel', 'seq']).where('file_id', '=', id).execute();
    return rows.map((row) => ({ channel: row.channel, seq: Number(row.seq) }));
  }

  // --- collection -----------------------------------------------------------------

  /** Removes up to `limit` files never attached or detached before `cutoff`; resolves with their ids. */
  async deleteCollectable(cutoff: number, limit: number): Promise<FileId[]> {
    const due = await this.#db
      .selectFrom('files')
      .select('id')
      .where('state', 'in', COLLECTABLE)
      .where('state_at', '<', cutoff)
      .limit(limit)
      .execute();
    if (due.length === 0) return [];
    // Checked again in the delete: a file attached since the read above stays.
    const deleted = await this.#db
      .deleteFrom('files')
      .where(
        'id',
        'in',
        due.map((row) => row.id),
      )
      .where('state', 'in', COLLECTABLE)
      .where('state_at', '<', cutoff)
      .returning('id')
      .execute();
    return deleted.map((row) => row.id);
  }

  /** Blobs no file points at, last touched before `cutoff`. */
  async orphanBlobs(cutoff: number, limit: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('file_blobs')
      .select('sha256')
      .where('touched_at', '<', cutoff)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('files').select('id').whereRef('files.sha256', '=', 'file_blobs.sha256'))))
      .limit(limit)
      .execute();
    return rows.map((row) => row.sha256);
  }

  /**
   * Removes a blob if it is still an orphan older than `cutoff`: its row, and its stored
   * objects through `removeObjects`, called while the row's deletion is uncommitted. An
   * upload of the same bytes touches the row first, so it waits for this to finish (then
   * stores the bytes anew) or this finds it touched and leaves it. Resolves true when removed.
   *
   * If the deletion fails to commit after `removeObjects` (a restart, PostgreSQL ending a
   * transaction left idle too long), the row outlives its objects. Nothing trusts it for
   * long: an upload of the same bytes finds the blob missing, stores it anew and queues its
   * thumbnail again (FileIntake); otherwise the next collection removes the row, its
   * `removeObjects` deleting objects already gone (FileStorage.delete allows that).
   */
  async deleteBlob(sha256: string, cutoff: number, removeObjects: () => Promise<void>): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('file_blobs')
        .where('sha256', '=', sha256)
        .where('touched_at', '<', cutoff)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('files').select('id').whereRef('files.sha256', '=', 'file_blobs.sha256'))))
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) return false;
      await removeObjects();
      return true;
    });
  }

  /** The URL-signing secret every node shares, created by the first node that asks. */
  async signingSecret(id: string, create: () => string): Promise<string> {
    await this.#db
      .insertInto('file_keys')
      .values({ id, secret: create(), created_at: Date.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await this.#db.selectFrom('file_keys').select('secret').where('id', '=', id).executeTakeFirstOrThrow();
    return row.secret;
  }
}

/** Marks live files attached; resolves with the ids that were (the others are gone or hidden). */
async function markAttached(db: Kysely<FileTables>, ids: readonly FileId[], now: number): Promise<Set<FileId>> {
  const updated = await db
    .updateTable('files')
    .set({ state: 'attached', state_at: now })
    .where('id', 'in', ids)
    .where('state', 'in', LIVE)
    .returning('id')
    .execute();
  return new Set(updated.map((row) => row.id));
}

function toFile(row: FileRow): StoredFile {
  return {
    id: row.id,
    channel: row.channel,
    uploader: row.uploader,
    name: row.name,
    size: Number(row.size),
    type: row.type,
    sha256: row.sha256,
    width: row.width,
    height: row.height,
    uploadId: row.upload_id,
    createdAt: Number(row.created_at),
    state: row.state,
    stateAt: Number(row.state_at),
  };
}

function toBlob(row: BlobRow): StoredBlob {
  return {
    sha256: row.sha256,
    size: Number(row.size),
    type: row.type,
    thumbState: row.thumb_state,
    thumbWidth: row.thumb_width,
    thumbHeight: row.thumb_height,
  };
}
