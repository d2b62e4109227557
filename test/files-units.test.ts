import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import type { StoredBlob } from '../src/files/file-catalog.js';
import { contentDisposition, sanitizeFileName } from '../src/files/file-names.js';
import { blobKey, thumbnailKey } from '../src/files/file-storage.js';
import { LocalStorage } from '../src/files/local-storage.js';
import { type ThumbnailOutcome, type ThumbnailQueue, Thumbnailer } from '../src/files/thumbnailer.js';
import { UrlSigner } from '../src/files/url-signer.js';
import { bombPng, solidPng } from './helpers/images.js';

/** The files module's pieces on their own: names, link signatures, the thumbnailer's pixel limit. */

describe('sanitizeFileName', () => {
  it.each([
    ['photo.png', 'photo.png'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\secret.docx', 'secret.docx'],
    ['nul\u0000byte.txt', 'nulbyte.txt'],
    ['tab\tand\nnewline.txt', 'tab and newline.txt'],
    ['\u0007bell\u009b.txt', 'bell.txt'],
    ['invoice\u202Egpj.exe', 'invoicegpj.exe'],
    ['iso\u2066late\u2069.pdf', 'isolate.pdf'],
    ['zero\u200Bwidth\uFEFF.txt', 'zerowidth.txt'],
    ['a<b>c:d"e|f?g*h.txt', 'a_b_c_d_e_f_g_h.txt'],
    ['.bashrc', 'bashrc'],
    ['trailing dots...', 'trailing dots'],
    ['LPT1', '_LPT1'],
    ['', 'file'],
    ['../', 'file'],
    ['e\u0301te\u0301.txt', 'été.txt'],
  ])('%j becomes %j', (given, expected) => {
    expect(sanitizeFileName(given)).toBe(expected);
  });

  it('cuts a long name to 200 characters and keeps its extension', () => {
    const name = sanitizeFileName(`${'ab'.repeat(300)}.jpeg`);
    expect(Array.from(name)).toHaveLength(200);
    expect(name.endsWith('.jpeg')).toBe(true);
    const emoji = sanitizeFileName(`${'😀'.repeat(250)}.png`);
    expect(Array.from(emoji)).toHaveLength(200);
    expect(emoji).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('makes a Content-Disposition header with an ASCII fallback and the exact name', () => {
    expect(contentDisposition('attachment', 'résumé "final".pdf')).toBe(
      `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`,
    );
  });
});

describe('UrlSigner', () => {
  const signer = new UrlSigner('secret', 600_000);

  it('accepts its own links until they expire, between the lifetime and 1.5 times it', () => {
    const now = 1_700_000_123_456;
    const { expires, signature } = signer.sign('fA', 'content', now);
    expect(expires * 1000 - now).toBeGreaterThanOrEqual(600_000);
    expect(expires * 1000 - now).toBeLessThanOrEqual(900_000);
    expect(() => signer.verify('fA', 'content', expires, signature, now)).not.toThrow();
    expect(() => signer.verify('fA', 'content', expires, signature, expires * 1000)).toThrow(/expired/);
  });

  it('gives one URL for requests within a step, so browsers cache it', () => {
    const now = 1_700_000_010_000;
    expect(signer.sign('fA', 'content', now)).toEqual(signer.sign('fA', 'content', now + 1000));
  });

  it('refuses a link altered in any part, or signed with another secret', () => {
    const now = Date.now();
    const { expires, signature } = signer.sign('fA', 'content', now);
    expect(() => signer.verify('fB', 'content', expires, signature, now)).toThrow(/not valid/);
    expect(() => signer.verify('fA', 'thumbnail', expires, signature, now)).toThrow(/not valid/);
    expect(() => signer.verify('fA', 'content', expires + 1, signature, now)).toThrow(/not valid/);
    expect(() => signer.verify('fA', 'content', expires, `${signature}x`, now)).toThrow(/not valid/);
    const other = new UrlSigner('other', 600_000).sign('fA', 'content', now);
    expect(() => signer.verify('fA', 'content', other.expires, other.signature, now)).toThrow(/not valid/);
  });
});

describe('Thumbnailer', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  /** A queue holding one due blob, recording how it was finished. */
  function queueOf(blob: StoredBlob): ThumbnailQueue & { finished: unknown[] } {
    let due: StoredBlob | undefined = blob;
    const finished: unknown[] = [];
    return {
      finished,
      async claimThumbnail() {
        const next = due;
        due = undefined;
        return next;
      },
      async finishThumbnail(sha256, result) {
        finished.push([sha256, result]);
      },
    };
  }

  async function run(bytes: Buffer, maxImagePixels: number): Promise<{ outcome: ThumbnailOutcome; queue: ReturnType<typeof queueOf>; storage: LocalStorage }> {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-thumbs-'));
    const storage = new LocalStorage(dir);
    await storage.put(blobKey('ab'.repeat(32)), Readable.from([bytes]), { size: bytes.length });
    const queue = queueOf({ sha256: 'ab'.repeat(32), size: bytes.length, type: 'image/png', thumbState: 'pending', thumbWidth: null, thumbHeight: null });
    const outcome = await new Promise<ThumbnailOutcome>((resolve) => {
      const thumbnailer = new Thumbnailer({
        catalog: queue,
        storage,
        logger: silentLogger,
        settings: { size: 64, maxImagePixels },
        now: Date.now,
        onOutcome: resolve,
      });
      thumbnailer.kick();
    });
    return { outcome, queue, storage };
  }

  it('refuses to decode an image over the pixel limit (a decompression bomb that reached the queue)', async () => {
    const { outcome, queue, storage } = await run(bombPng(4_000, 4_000), 4_000_000);
    expect(outcome.state).toBe('failed');
    expect(queue.finished).toEqual([['ab'.repeat(32), 'failed']]);
    expect(await storage.stat(thumbnailKey('ab'.repeat(32)))).toBeNull();
  });

  it('makes the thumbnail of an image within the limit', async () => {
    const { outcome, queue, storage } = await run(await solidPng(400, 200), 4_000_000);
    expect(outcome.state).toBe('ready');
    expect(queue.finished).toEqual([['ab'.repeat(32), { width: 64, height: 32 }]]);
    expect(await storage.stat(thumbnailKey('ab'.repeat(32)))).not.toBeNull();
  });
});
