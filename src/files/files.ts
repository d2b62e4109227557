import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { SwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ChannelId, Principal, UserId } from '../core/types.js';
import type { Database } from '../store/database.js';
import type { ChannelAccess } from './channel-access.js';
import { isSafeImage } from './content-types.js';
import { type FileId, FileCatalog, type MessageRef, type StoredBlob, type StoredFile } from './file-catalog.js';
import { type Collected, FileCollector } from './file-collector.js';
import { FileIntake } from './file-intake.js';
import { blobKey, type FileStorage, thumbnailKey } from './file-storage.js';
import { Staging } from './staging.js';
import { type ThumbnailOutcome, Thumbnailer } from './thumbnailer.js';
import { UploadLimits } from './upload-limits.js';
import { type FileVariant, UrlSigner } from './url-signer.js';

/** The files module's settings (config `files`); see DEFAULT_FILES_SETTINGS for each default. */
export interface FilesSettings {
  /** Largest file, in bytes, by any upload. */
  readonly maxFileBytes: number;
  /** Largest file a single-request upload (`POST /api/files`) takes; larger ones go resumable. */
  readonly maxSingleUploadBytes: number;
  /** Bytes one user's files may take together; 0: no quota. */
  readonly quotaBytesPerUser: number;
  /** Uploads one user may start per minute on a node; 0: no limit. */
  readonly uploadsPerMinute: number;
  /** How long a signed download link works at least (it works up to 1.5 times as long). */
  readonly urlTtlSeconds: number;
  /** The secret download links are signed with; null: one is made and kept in the database. */
  readonly urlSecret: string | null;
  /** A thumbnail's longest side, in pixels. */
  readonly thumbnailSize: number;
  /** Images with more pixels get no thumbnail and are downloaded rather than shown (decompression bombs). */
  readonly maxImagePixels: number;
  /** How long a file no message refers to is kept before it is removed. */
  readonly gcGraceSeconds: number;
  /** How often a node collects unreferenced files (and sweeps abandoned uploads); 0: never on its own. */
  readonly gcIntervalSeconds: number;
  /** How long an unfinished resumable upload may be resumed before it is removed. */
  readonly resumableExpirySeconds: number;
}

export const DEFAULT_FILES_SETTINGS: FilesSettings = Object.freeze({
  maxFileBytes: 100 * 1024 * 1024,
  maxSingleUploadBytes: 16 * 1024 * 1024,
  quotaBytesPerUser: 1024 * 1024 * 1024,
  uploadsPerMinute: 30,
  urlTtlSeconds: 600,
  urlSecret: null,
  thumbnailSize: 320,
  maxImagePixels: 50_000_000,
  gcGraceSeconds: 24 * 60 * 60,
  gcIntervalSeconds: 60 * 60,
  resumableExpirySeconds: 24 * 60 * 60,
});

/**
 * A file as a message carries it (part two stores this in the event): what a client needs
 * to show a file card or an image preview before it downloads anything.
 */
export interface FileAttachment {
  readonly id: FileId;
  /** Sanitised: no path, control or bidirectional characters. */
  readonly name: string;
  readonly size: number;
  /** Sniffed from the bytes. */
  readonly type: string;
  /** Images: their size as shown; null otherwise. */
  readonly width: number | null;
  readonly height: number | null;
  /** The thumbnail's size once made; `pending` while it is being made; null for none. */
  readonly thumbnail: { readonly width: number; readonly height: number } | 'pending' | null;
}

/** `GET /api/files/:id`: the attachment, where it belongs, and signed links to its bytes. */
export interface FileDescriptor extends FileAttachment {
  readonly channel: ChannelId;
  readonly uploader: UserId;
  readonly createdAt: number;
  /** Signed, relative to the server: works in `<img src>` and `<a href>` without headers. */
  readonly url: string;
  readonly thumbnailUrl: string | null;
  /** When both links stop working (epoch milliseconds). */
  readonly urlsExpireAt: number;
}

export interface FilesOptions {
  readonly database: Database;
  readonly storage: FileStorage;
  /** The channel rules, asked of the hub (see hubAccess). */
  readonly access: ChannelAccess;
  readonly logger: Logger;
  /** Local working directory: unfinished uploads (`uploads/`, `staging/`). The data directory's `files/`. */
  readonly workDirectory: string;
  readonly settings?: Partial<FilesSettings>;
  /** The clock (tests move it to pass the grace period and link expiry). */
  readonly now?: () => number;
}

/** Where a download's bytes are and how to serve them. */
export interface DownloadTarget {
  readonly file: StoredFile;
  /** The name to download it as. */
  readonly name: string;
  readonly key: string;
  readonly size: number;
  readonly type: string;
  /** Shown in place (a safe image within the pixel limit, or a thumbnail) or downloaded. */
  readonly inline: boolean;
  /** A strong validator: the bytes are content-addressed. */
  readonly etag: string;
}

/** How a download proves it may be served: a reader's credentials, or a signed link. */
export type DownloadPass =
  | { readonly kind: 'principal'; readonly principal: Principal }
  | { readonly kind: 'signed'; readonly expires: number; readonly signature: string };

/**
 * The files module: uploads (single and resumable) into a FileStorage, signed downloads,
 * thumbnails, the references messages make to files, and the collector. Built once per
 * node by the composition root; `registerFileRoutes` puts it on HTTP.
 *
 * @example
 *   const files = await Files.create({ database, storage: new LocalStorage('./data/files'),
 *     access: hubAccess(hub), logger, workDirectory: './data/files' });
 *   registerFileRoutes(app, { files, authenticate });
 */
export class Files {
  readonly settings: FilesSettings;
  readonly storage: FileStorage;
  readonly access: ChannelAccess;
  readonly limits: UploadLimits;
  readonly staging: Staging;
  readonly intake: FileIntake;
  /** Unfinished resumable uploads (tus), on this node's disk. */
  readonly resumable: FileStore;
  readonly thumbnails: Thumbnailer;
  readonly now: () => number;
  readonly #catalog: FileCatalog;
  readonly #signer: UrlSigner;
  readonly #collector: FileCollector;
  readonly #logger: Logger;
  readonly #thumbnailListeners = new Set<(outcome: ThumbnailOutcome) => void>();
  #timer: NodeJS.Timeout | null = null;
  #collecting: Promise<Collected> | null = null;

  static async create(options: FilesOptions): Promise<Files> {
    const settings = { ...DEFAULT_FILES_SETTINGS, ...options.settings };
    const catalog = new FileCatalog(options.database);
    const secret = settings.urlSecret ?? (await catalog.signingSecret('download-urls', () => randomBytes(32).toString('base64url')));
    const files = new Files(options, settings, catalog, secret);
    files.#start();
    return files;
  }

  private constructor(options: FilesOptions, settings: FilesSettings, catalog: FileCatalog, secret: string) {
    this.settings = settings;
    this.storage = options.storage;
    this.access = options.access;
    this.now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#catalog = catalog;
    this.#signer = new UrlSigner(secret, settings.urlTtlSeconds * 1000);
    this.limits = new UploadLimits(catalog, settings);
    this.staging = new Staging(join(options.workDirectory, 'staging'));
    this.resumable = new FileStore({
      directory: join(options.workDirectory, 'uploads'),
      expirationPeriodInMilliseconds: settings.resumableExpirySeconds * 1000,
    });
    this.thumbnails = new Thumbnailer({
      catalog,
      storage: options.storage,
      logger: options.logger,
      settings: { size: settings.thumbnailSize, maxImagePixels: settings.maxImagePixels },
      now: this.now,
      onOutcome: (outcome) => {
        for (const listener of this.#thumbnailListeners) listener(outcome);
      },
    });
    this.intake = new FileIntake({
      catalog,
      storage: options.storage,
      limits: this.limits,
      maxImagePixels: settings.maxImagePixels,
      now: this.now,
      thumbnailDue: () => this.thumbnails.kick(),
    });
    this.#collector = new FileCollector({ catalog, storage: options.storage, graceMs: settings.gcGraceSeconds * 1000, logger: options.logger });
  }

  #start(): void {
    // Thumbnails a stopped node left half made, or queued, are due now.
    this.thumbnails.kick();
    if (this.settings.gcIntervalSeconds > 0) {
      this.#timer = setInterval(() => {
        this.thumbnails.kick();
        this.collectGarbage().catch((error: unknown) => this.#logger.warn({ err: error }, 'file collection failed'));
      }, this.settings.gcIntervalSeconds * 1000);
      this.#timer.unref();
    }
  }

  // --- reading ----------------------------------------------------------------------

  /** A file a reader of its channel asks about, with fresh signed links; `not_found` for a hidden one. */
  async describe(principal: Principal, id: FileId): Promise<FileDescriptor> {
    const file = await this.#visible(id);
    await this.access.assertCanRead(principal, file.channel);
    return this.#descriptor(file, await this.#blobOf(file));
  }

  /**
   * Files with fresh signed links, for `files.get`: each readable one once, in the order
   * asked; the others (unknown, hidden, in a channel the principal may not read) in
   * `missing`, without saying which, so ids of other channels' files are not confirmed.
   */
  async describeMany(principal: Principal, ids: readonly FileId[]): Promise<{ files: FileDescriptor[]; missing: FileId[] }> {
    const readable = new Map<ChannelId, Promise<boolean>>();
    const canRead = (channel: ChannelId) => {
      let answer = readable.get(channel);
      if (!answer) {
        answer = this.access.assertCanRead(principal, channel).then(
          () => true,
          (error: unknown) => {
            if (error instanceof SwitchboardError && (error.code === 'forbidden' || error.code === 'not_found')) return false;
            throw error;
          },
        );
        readable.set(channel, answer);
      }
      return answer;
    };
    const unique = [...new Set(ids)];
    const found = await Promise.all(
      unique.map(async (id) => {
        const file = await this.#catalog.file(id);
        if (!file || file.state === 'detached' || !(await canRead(file.channel))) return null;
        const blob = await this.#catalog.blob(file.sha256);
        return blob ? this.#descriptor(file, blob) : null;
      }),
    );
    return {
      files: found.filter((file): file is FileDescriptor => file !== null),
      missing: unique.filter((_, index) => found[index] === null),
    };
  }

  /** What a resumable upload became, for its uploader (whose last response may have been lost). */
  async describeUpload(principal: Principal, uploadId: string): Promise<FileDescriptor> {
    const file = await this.#catalog.fileByUpload(uploadId);
    if (!file || file.uploader !== principal.userId || file.state === 'detached') {
      throw new SwitchboardError('not_found', 'No finished upload with this id.');
    }
    return this.#descriptor(file, await this.#blobOf(file));
  }

  /** Where a download's bytes are, once the pass allows it; `not_found` while a thumbnail is not made. */
  async download(id: FileId, variant: FileVariant, pass: DownloadPass): Promise<DownloadTarget> {
    if (pass.kind === 'signed') this.#signer.verify(id, variant, pass.expires, pass.signature, this.now());
    const file = await this.#visible(id);
    if (pass.kind === 'principal') await this.access.assertCanRead(pass.principal, file.channel);
    const blob = await this.#blobOf(file);
    if (variant === 'thumbnail') {
      if (blob.thumbState !== 'ready') {
        throw new SwitchboardError('not_found', blob.thumbState === 'pending' ? 'The thumbnail is not made yet.' : 'This file has no thumbnail.');
      }
      const key = thumbnailKey(blob.sha256);
      const stored = await this.storage.stat(key);
      if (!stored) throw new SwitchboardError('not_found', 'This file has no thumbnail.');
      const name = `${file.name.replace(/\.[^.]*$/, '')}-thumbnail.webp`;
      return { file, name, key, size: stored.size, type: 'image/webp', inline: true, etag: `"t-${blob.sha256}"` };
    }
    return {
      file,
      name: file.name,
      key: blobKey(blob.sha256),
      size: file.size,
      type: file.type,
      inline: this.#showable(file),
      etag: `"${blob.sha256}"`,
    };
  }

  /** Calls `listener` whenever this node finishes a thumbnail; returns the unsubscribe. */
  onThumbnail(listener: (outcome: ThumbnailOutcome) => void): () => void {
    this.#thumbnailListeners.add(listener);
    return () => this.#thumbnailListeners.delete(listener);
  }

  // --- messages (part two: publish, delete) ------------------------------------------

  /**
   * Checks files a principal wants to attach to a message in `channel` and pins them (the
   * collector leaves them alone from now on). Each must exist, not be hidden, have been
   * uploaded by the principal (the server may attach any) for that very channel. Waits up
   * to `thumbnailWaitMs` for thumbnails still being made. Resolves in the order given.
   */
  async prepareAttachments(
    principal: Principal,
    channel: ChannelId,
    ids: readonly FileId[],
    options: { readonly thumbnailWaitMs?: number } = {},
  ): Promise<FileAttachment[]> {
    const files: StoredFile[] = [];
    for (const id of new Set(ids)) {
      const file = await this.#catalog.file(id);
      if (!file || file.state === 'detached') throw new SwitchboardError('not_found', `No file ${id}.`);
      if (file.channel !== channel) throw new SwitchboardError('bad_request', `File ${id} was uploaded for another channel.`);
      if (principal.kind !== 'server' && file.uploader !== principal.userId) {
        throw new SwitchboardError('forbidden', `File ${id} was uploaded by someone else.`);
      }
      files.push(file);
    }
    const missing = await this.#catalog.pin(
      files.map((file) => file.id),
      this.now(),
    );
    if (missing.length > 0) throw new SwitchboardError('not_found', `No file ${missing[0]}.`);
    return Promise.all(files.map(async (file) => this.#attachment(file, await this.#settledBlob(file, options.thumbnailWaitMs ?? 0))));
  }

  /** After the message committed: records that it refers to the files. Resolves with ids it could not attach. */
  attach(ids: readonly FileId[], ref: MessageRef): Promise<FileId[]> {
    return this.#catalog.attach(ids, ref, this.now());
  }

  /** The message was not published after all: its files are unpinned (collected after the grace period if never sent). */
  release(ids: readonly FileId[]): Promise<void> {
    return this.#catalog.release(ids, this.now());
  }

  /** The message was deleted: files it alone referred to are hidden now and removed after the grace period. */
  detach(ref: MessageRef): Promise<FileId[]> {
    return this.#catalog.detach(ref, this.now());
  }

  // --- housekeeping -------------------------------------------------------------------

  /**
   * Removes what no message refers to once past the grace period, unfinished resumable
   * uploads past their expiry, and single uploads a crash left staged. Runs on a timer;
   * callable any time (one run at a time per node).
   */
  collectGarbage(): Promise<Collected> {
    return (this.#collecting ??= (async () => {
      try {
        const now = this.now();
        await this.resumable.deleteExpired().catch(() => 0);
        await this.staging.sweep(this.settings.resumableExpirySeconds * 1000, now);
        return await this.#collector.collect(now);
      } finally {
        this.#collecting = null;
      }
    })());
  }

  /** Stops the timer and waits for the thumbnail and collection in progress. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await Promise.allSettled([this.thumbnails.close(), this.#collecting]);
    await this.storage.close?.();
  }

  // --- internals ----------------------------------------------------------------------

  async #visible(id: FileId): Promise<StoredFile> {
    const file = await this.#catalog.file(id);
    // A hidden file (its message was deleted) answers as if it never was.
    if (!file || file.state === 'detached') throw new SwitchboardError('not_found', `No file ${id}.`);
    return file;
  }

  async #blobOf(file: StoredFile): Promise<StoredBlob> {
    const blob = await this.#catalog.blob(file.sha256);
    if (!blob) throw new SwitchboardError('not_found', `No file ${file.id}.`);
    return blob;
  }

  /** The blob once its thumbnail is settled, or as it is after `waitMs`. */
  async #settledBlob(file: StoredFile, waitMs: number): Promise<StoredBlob> {
    const blob = await this.#blobOf(file);
    if (blob.thumbState !== 'pending' || waitMs <= 0) return blob;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      const stop = this.onThumbnail((outcome) => {
        if (outcome.sha256 === blob.sha256) done();
      });
      function done() {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    return this.#blobOf(file);
  }

  #showable(file: StoredFile): boolean {
    return isSafeImage(file.type) && file.width !== null && file.height !== null && file.width * file.height <= this.settings.maxImagePixels;
  }

  #attachment(file: StoredFile, blob: StoredBlob): FileAttachment {
    let thumbnail: FileAttachment['thumbnail'] = null;
    if (blob.thumbState === 'ready' && blob.thumbWidth !== null && blob.thumbHeight !== null) {
      thumbnail = { width: blob.thumbWidth, height: blob.thumbHeight };
    } else if (blob.thumbState === 'pending') {
      thumbnail = 'pending';
    }
    return { id: file.id, name: file.name, size: file.size, type: file.type, width: file.width, height: file.height, thumbnail };
  }

  #descriptor(file: StoredFile, blob: StoredBlob): FileDescriptor {
    const now = this.now();
    const link = (variant: FileVariant) => {
      const { expires, signature } = this.#signer.sign(file.id, variant, now);
      return { url: `/api/files/${file.id}/${variant}?expires=${expires}&signature=${signature}`, expires };
    };
    const content = link('content');
    const attachment = this.#attachment(file, blob);
    return {
      ...attachment,
      channel: file.channel,
      uploader: file.uploader,
      createdAt: file.createdAt,
      url: content.url,
      thumbnailUrl: attachment.thumbnail === null ? null : link('thumbnail').url,
      urlsExpireAt: content.expires * 1000,
    };
  }
}
