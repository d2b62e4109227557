import type { Readable } from 'node:stream';

/** Bytes `start` to `end` of an object, both inclusive (HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Where the files module keeps bytes: the local filesystem (local-storage.ts) or any
 * S3-compatible service (s3-storage.ts). Keys are the module's own (`blobs/ab/cd/<sha256>`),
 * never a name a client chose. Every method streams; none holds an object in memory.
 *
 * @example
 *   await storage.put('blobs/ab/cd/abcd…', createReadStream(staged), { size });
 *   const body = await storage.get('blobs/ab/cd/abcd…', { start: 0, end: 1023 });
 */
export interface FileStorage {
  /** What the logs and docs call it: `local` or `s3`. */
  readonly kind: string;
  /**
   * Stores `body` under `key` (replacing what was there). Resolves once the bytes are
   * durable; rejects without leaving a partial object visible under `key`.
   */
  put(key: string, body: Readable, options: { readonly size: number; readonly contentType?: string }): Promise<void>;
  /**
   * Optional: takes a finished local file in (on the same disk, a rename). The module
   * calls it instead of `put` when present, so a local upload is never copied twice.
   */
  adopt?(key: string, path: string): Promise<void>;
  /** The object's bytes, or the range of them; rejects with StorageNotFound when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's size, or null when there is none. */
  stat(key: string): Promise<{ readonly size: number } | null>;
  /** Removes the object; removing an absent one is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** A key that names no object. */
export class StorageNotFound extends Error {
  constructor(key: string) {
    super(`No stored object ${key}.`);
    this.name = 'StorageNotFound';
  }
}

const KEY = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;

/** Keys are the module's own; this refuses anything that could climb out of a directory. */
export function assertStorageKey(key: string): void {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`Not a storage key: ${JSON.stringify(key)}.`);
}

/** Where a blob's bytes live: content-addressed, fanned out over two directory levels. */
export function blobKey(sha256: string): string {
  return `blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

/** Where a blob's thumbnail lives. */
export function thumbnailKey(sha256: string): string {
  return `thumbs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}.webp`;
}
