import type { Logger } from '../core/logger.js';
import type { FileCatalog } from './file-catalog.js';
import { blobKey, type FileStorage, thumbnailKey } from './file-storage.js';

/** What one collection removed. */
export interface Collected {
  /** Files never attached, or hidden by a delete, for longer than the grace period. */
  readonly files: number;
  /** Stored blobs (with their thumbnails) no file points at any more. */
  readonly blobs: number;
}

const BATCH = 200;

/**
 * The garbage collector: removes files that no message refers to once the grace period
 * has passed (uploads never sent, and files whose messages were deleted), then the stored
 * bytes no file points at. Any node may run it at any time; two running at once remove
 * each thing once (every delete re-checks its condition).
 */
export class FileCollector {
  readonly #catalog: FileCatalog;
  readonly #storage: FileStorage;
  readonly #graceMs: number;
  readonly #logger: Logger;

  constructor(options: { catalog: FileCatalog; storage: FileStorage; graceMs: number; logger: Logger }) {
    this.#catalog = options.catalog;
    this.#storage = options.storage;
    this.#graceMs = options.graceMs;
    this.#logger = options.logger;
  }

  async collect(now: number): Promise<Collected> {
    const cutoff = now - this.#graceMs;
    let files = 0;
    for (;;) {
      const removed = await this.#catalog.deleteCollectable(cutoff, BATCH);
      files += removed.length;
      if (removed.length < BATCH) break;
    }
    let blobs = 0;
    for (;;) {
      const orphans = await this.#catalog.orphanBlobs(cutoff, BATCH);
      for (const sha256 of orphans) {
        const removed = await this.#catalog.deleteBlob(sha256, cutoff, async () => {
          await this.#storage.delete(blobKey(sha256));
          await this.#storage.delete(thumbnailKey(sha256));
        });
        if (removed) blobs++;
      }
      if (orphans.length < BATCH) break;
    }
    if (files > 0 || blobs > 0) this.#logger.info({ files, blobs }, 'collected unreferenced files');
    return { files, blobs };
  }
}
