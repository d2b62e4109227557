import { Readable } from 'node:stream';
import sharp from 'sharp';
import type { Logger } from '../core/logger.js';
import type { FileCatalog, StoredBlob } from './file-catalog.js';
import { blobKey, type FileStorage, thumbnailKey } from './file-storage.js';

export interface ThumbnailSettings {
  /** The thumbnail's longest side, in pixels. */
  readonly size: number;
  /** Images with more pixels get no thumbnail (and are not shown inline): sharp's limitInputPixels. */
  readonly maxImagePixels: number;
}

/** What came of a blob's thumbnail. */
export interface ThumbnailOutcome {
  readonly sha256: string;
  readonly state: 'ready' | 'failed';
}

/** The part of the catalog the thumbnailer uses: due thumbnails, claimed and finished. */
export type ThumbnailQueue = Pick<FileCatalog, 'claimThumbnail' | 'finishThumbnail'>;

/** How long a claimed thumbnail is this worker's before another node may take it over. */
const LEASE_MS = 60_000;

/**
 * Makes thumbnails in the background, one at a time per node, each exactly once: a blob's
 * thumbnail is claimed in the database (with a lease) before it is made, so neither a
 * second upload of the same bytes nor another node makes it again. sharp decodes with
 * `limitInputPixels`, so a decompression bomb fails instead of filling memory.
 */
export class Thumbnailer {
  readonly #catalog: ThumbnailQueue;
  readonly #storage: FileStorage;
  readonly #logger: Logger;
  readonly #settings: ThumbnailSettings;
  readonly #now: () => number;
  readonly #onOutcome: (outcome: ThumbnailOutcome) => void;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;
  /** Thumbnails this node made: a figure for tests and metrics. */
  made = 0;

  constructor(options: {
    catalog: ThumbnailQueue;
    storage: FileStorage;
    logger: Logger;
    settings: ThumbnailSettings;
    now: () => number;
    onOutcome: (outcome: ThumbnailOutcome) => void;
  }) {
    this.#catalog = options.catalog;
    this.#storage = options.storage;
    this.#logger = options.logger;
    this.#settings = options.settings;
    this.#now = options.now;
    this.#onOutcome = options.onOutcome;
  }

  /** Looks for due thumbnails soon (after an upload, on start, on the collector's timer). */
  kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** Stops taking new work and waits for the thumbnail in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      let blob: StoredBlob | undefined;
      try {
        blob = await this.#catalog.claimThumbnail(this.#now(), LEASE_MS);
      } catch (error) {
        this.#logger.warn({ err: error }, 'cannot look for due thumbnails');
        return;
      }
      if (!blob) return;
      await this.#make(blob);
    }
  }

  async #make(blob: StoredBlob): Promise<void> {
    let outcome: ThumbnailOutcome;
    try {
      const source = await this.#storage.get(blobKey(blob.sha256));
      const resizer = sharp({ limitInputPixels: this.#settings.maxImagePixels, sequentialRead: true })
        .rotate()
        .resize(this.#settings.size, this.#settings.size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 });
      source.on('error', (error) => resizer.destroy(error));
      // A thumbnail is a few kilobytes: held whole, it is stored with a known length.
      const { data, info } = await source.pipe(resizer).toBuffer({ resolveWithObject: true });
      await this.#storage.put(thumbnailKey(blob.sha256), Readable.from([data]), { size: data.length, contentType: 'image/webp' });
      await this.#catalog.finishThumbnail(blob.sha256, { width: info.width, height: info.height });
      this.made++;
      outcome = { sha256: blob.sha256, state: 'ready' };
    } catch (error) {
      this.#logger.warn({ err: error, sha256: blob.sha256 }, 'cannot make a thumbnail');
      await this.#catalog.finishThumbnail(blob.sha256, 'failed').catch(() => {});
      outcome = { sha256: blob.sha256, state: 'failed' };
    }
    this.#onOutcome(outcome);
  }
}
