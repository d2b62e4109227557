import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import type { ChannelId, Principal } from '../core/types.js';
import type { FileCatalog, StoredFile, ThumbnailState } from './file-catalog.js';
import { blobKey, type FileStorage } from './file-storage.js';
import { isSafeImage, sniffType } from './content-types.js';
import type { StagedFile } from './staging.js';
import type { UploadLimits } from './upload-limits.js';

/** What an upload says about itself: where it is going and what the client called it (sanitised). */
export interface UploadMeta {
  readonly principal: Principal;
  readonly channel: ChannelId;
  readonly name: string;
  /** The resumable upload it finished, if it was one. */
  readonly uploadId: string | null;
}

/**
 * Where every finished upload goes, resumable or not: the bytes are sniffed for their type
 * (never the client's word), an image's dimensions are read from its header (no pixel is
 * decoded), the quota is checked on the real size, and the bytes are stored once under
 * their sha256 (a second upload of the same bytes stores nothing). Then the file's row is
 * written and, for an image, a thumbnail is queued.
 */
export class FileIntake {
  readonly #catalog: FileCatalog;
  readonly #storage: FileStorage;
  readonly #limits: UploadLimits;
  readonly #maxImagePixels: number;
  readonly #now: () => number;
  readonly #thumbnailDue: () => void;

  constructor(options: {
    catalog: FileCatalog;
    storage: FileStorage;
    limits: UploadLimits;
    maxImagePixels: number;
    now: () => number;
    thumbnailDue: () => void;
  }) {
    this.#catalog = options.catalog;
    this.#storage = options.storage;
    this.#limits = options.limits;
    this.#maxImagePixels = options.maxImagePixels;
    this.#now = options.now;
    this.#thumbnailDue = options.thumbnailDue;
  }

  /** Stores a staged upload and records it; the staged file is gone afterwards, whatever happens. */
  async accept(staged: StagedFile, meta: UploadMeta): Promise<StoredFile> {
    try {
      this.#limits.assertSize(staged.size);
      await this.#limits.assertQuota(meta.principal, staged.size);
      const type = await sniffType(staged.path);
      const dimensions = isSafeImage(type) ? await imageDimensions(staged.path) : null;
      const thumbState: ThumbnailState =
        dimensions && dimensions.width * dimensions.height <= this.#maxImagePixels ? 'pending' : 'none';
      const now = this.#now();
      // Touched before the bytes are stored: the collector leaves a touched blob alone.
      const blob = await this.#catalog.touchBlob({ sha256: staged.sha256, size: staged.size, type, thumbState }, now);
      const key = blobKey(staged.sha256);
      const existing = await this.#storage.stat(key);
      let thumbnailDue = blob.thumbState === 'pending';
      if (existing?.size !== staged.size) {
        if (this.#storage.adopt) await this.#storage.adopt(key, staged.path);
        else await this.#storage.put(key, createReadStream(staged.path), { size: staged.size, contentType: type });
        // A row that said ready while its bytes were missing outlived a collection that
        // could not commit (FileCatalog.deleteBlob): its thumbnail went with the bytes.
        // Queued once the bytes are back, so the thumbnailer finds them.
        if (blob.thumbState === 'ready') thumbnailDue = await this.#catalog.remakeThumbnail(staged.sha256);
      }
      const file: StoredFile = {
        id: newFileId(),
        channel: meta.channel,
        uploader: meta.principal.userId,
        name: meta.name,
        size: staged.size,
        type,
        sha256: staged.sha256,
        width: dimensions?.width ?? null,
        height: dimensions?.height ?? null,
        uploadId: meta.uploadId,
        createdAt: now,
        state: 'uploaded',
        stateAt: now,
      };
      await this.#catalog.insertFile(file);
      if (thumbnailDue) this.#thumbnailDue();
      return file;
    } finally {
      await rm(staged.path, { force: true });
    }
  }
}

/** 128 random bits, url-safe: ids are not guessable, so knowing one says nothing of others. */
export function newFileId(): string {
  return `f${randomBytes(16).toString('base64url')}`;
}

/**
 * Width and height as shown (EXIF orientations 5-8 turn the image a quarter), from the
 * header alone; null for bytes sharp cannot read.
 */
async function imageDimensions(path: string): Promise<{ width: number; height: number } | null> {
  try {
    const meta = await sharp(path, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) return null;
    const turned = (meta.orientation ?? 1) >= 5;
    return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch {
    return null;
  }
}
