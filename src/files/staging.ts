import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SwitchboardError } from '../core/errors.js';

/** A finished upload on the local disk, waiting to be checked and stored. */
export interface StagedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * The local directory where a single-request upload lands before it is checked and
 * stored: bytes are streamed to disk (hashed and counted on the way), never held in
 * memory, and a body past the size limit is cut off as soon as it passes it.
 */
export class Staging {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = directory;
  }

  /**
   * Streams `source` into a new file. Rejects with `too_large` once more than `maxBytes`
   * arrive, and with the source's error if it ends early; nothing is left behind either way.
   */
  async receive(source: Readable, maxBytes: number): Promise<StagedFile> {
    await mkdir(this.directory, { recursive: true });
    const path = join(this.directory, `${randomBytes(12).toString('hex')}.upload`);
    const meter = new Meter(maxBytes);
    try {
      await pipeline(source, meter, createWriteStream(path, { flags: 'wx' }));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, size: meter.size, sha256: meter.digest() };
  }

  /** Size and sha256 of a file already on disk (a finished resumable upload). */
  async hash(path: string): Promise<StagedFile> {
    const meter = new Meter(Number.MAX_SAFE_INTEGER);
    await pipeline(createReadStream(path), meter, async function* drain(chunks) {
      for await (const _ of chunks);
    });
    return { path, size: meter.size, sha256: meter.digest() };
  }

  /** Removes staged files older than `maxAgeMs` (left by a crash mid-upload). */
  async sweep(maxAgeMs: number, now: number): Promise<number> {
    let removed = 0;
    const names = await readdir(this.directory).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith('.upload')) continue;
      const path = join(this.directory, name);
      const info = await stat(path).catch(() => null);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

/** Counts and hashes what passes, and fails the stream once it passes the limit. */
class Meter extends Transform {
  readonly #limit: number;
  readonly #hash = createHash('sha256');
  size = 0;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.#limit) {
      callback(new SwitchboardError('too_large', `A file may be at most ${this.#limit} bytes.`, { limit: this.#limit }));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}
