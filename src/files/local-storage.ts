import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, type ByteRange, type FileStorage, StorageNotFound } from './file-storage.js';

/**
 * Files on the local disk, one file per key under `root` (the data directory's `files/`
 * by default). A write goes to `root/.partial/` first and is renamed into place once
 * synced, so a reader never sees half an object and a crash leaves only a partial to sweep.
 *
 * @example
 *   const storage = new LocalStorage('./data/files');
 */
export class LocalStorage implements FileStorage {
  readonly kind = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async put(key: string, body: Readable, _options: { readonly size: number }): Promise<void> {
    const target = this.#path(key);
    const partial = await this.#partialPath();
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      await syncFile(partial);
      await mkdir(dirname(target), { recursive: true });
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async adopt(key: string, path: string): Promise<void> {
    const target = this.#path(key);
    await syncFile(path);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(path, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another disk: copied next to the target, then renamed, so the target is never half there.
      const partial = await this.#partialPath();
      await copyFile(path, partial);
      await syncFile(partial);
      await rename(partial, target);
      await unlink(path);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.#path(key);
    // Opened first, so an absent object rejects here rather than erroring the stream later.
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new StorageNotFound(key) : error;
    });
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async stat(key: string): Promise<{ readonly size: number } | null> {
    try {
      const info = await stat(this.#path(key));
      return { size: info.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  #path(key: string): string {
    assertStorageKey(key);
    return join(this.root, key);
  }

  async #partialPath(): Promise<string> {
    const dir = join(this.root, '.partial');
    await mkdir(dir, { recursive: true });
    return join(dir, randomBytes(12).toString('hex'));
  }
}

/** Flushes a file to the disk, so a rename after it never publishes bytes a crash could lose. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
