import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { FileCatalog } from '../src/files/file-catalog.js';
import { FileCollector } from '../src/files/file-collector.js';
import { blobKey, type FileStorage, thumbnailKey } from '../src/files/file-storage.js';
import type { FileDescriptor } from '../src/files/files.js';
import { type FilesApp, nextThumbnail, sha256, type StorageKind, startFilesApp } from './helpers/files-app.js';
import { solidPng } from './helpers/images.js';
import { createTestSchema, type TestSchema } from './helpers/postgres.js';
import { serviceUrl } from './helpers/services.js';

/**
 * What the message integration will use: pinning files for a message, recording and
 * dropping its references, and the collector that removes what no message refers to once
 * the grace period has passed; with quota and upload rate. On SQLite and PostgreSQL, on
 * the disk and on S3.
 */

const GRACE_MS = 60 * 60 * 1000;
const postgresUrl = serviceUrl('TEST_DATABASE_URL');

const setups: { name: string; storage: StorageKind; postgres: boolean }[] = [
  { name: 'sqlite, local storage', storage: 'local', postgres: false },
  { name: 'sqlite, s3 storage', storage: 's3', postgres: false },
  { name: 'postgres, local storage', storage: 'local', postgres: true },
];

for (const setup of setups) {
  describe.skipIf(setup.postgres && postgresUrl === undefined)(`file references and collection (${setup.name})`, () => {
    let app: FilesApp;
    let schema: TestSchema | null = null;

    beforeAll(async () => {
      if (setup.postgres) schema = await createTestSchema(postgresUrl!, 'files');
      app = await startFilesApp({
        storage: setup.storage,
        databaseUrl: schema?.url,
        settings: { gcGraceSeconds: GRACE_MS / 1000, quotaBytesPerUser: 10_000, uploadsPerMinute: 1000 },
      });
      await app.hub.createChannel(app.user('alice'), { id: 'lobby', type: 'public' });
      await app.hub.createChannel(app.user('alice'), { id: 'other', type: 'public' });
    });
    afterAll(async () => {
      await app?.close();
      await schema?.drop();
    });

    async function upload(user: string, body: Uint8Array, channel = 'lobby'): Promise<FileDescriptor> {
      const response = await fetch(`${app.url}/api/files?channel=${channel}&name=f.bin`, {
        method: 'POST',
        headers: { 'X-Switchboard-User': user },
        body: Buffer.from(body) as unknown as BodyInit,
      });
      if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as FileDescriptor;
    }

    const status = async (id: string) =>
      (await fetch(`${app.url}/api/files/${id}`, { headers: { 'X-Switchboard-User': 'alice' } })).status;

    /** Runs the collector with the clock moved `ms` past now, then puts the clock back. */
    async function collectAt(ms: number) {
      const now = app.clock.now;
      app.clock.now = now + ms;
      try {
        return await app.files.collectGarbage();
      } finally {
        app.clock.now = now;
      }
    }

    it('removes a file, and then its bytes, once its message is deleted and the grace period has passed', async () => {
      const png = await solidPng(300, 200, { r: 1, g: 2, b: 3 });
      const thumbnailDone = new Promise<void>((resolve) => {
        const stop = app.files.onThumbnail(() => {
          stop();
          resolve();
        });
      });
      const file = await upload('alice', png);
      await thumbnailDone;
      const sha = (await app.files.download(file.id, 'content', { kind: 'principal', principal: app.user('alice') })).etag.slice(1, -1);
      const attachments = await app.files.prepareAttachments(app.user('alice'), 'lobby', [file.id], { thumbnailWaitMs: 5000 });
      expect(attachments).toEqual([{ id: file.id, name: 'f.bin', size: png.length, type: 'image/png', width: 300, height: 200, thumbnail: { width: 300, height: 200 } }]);
      expect(await app.files.attach([file.id], { channel: 'lobby', seq: 7 })).toEqual([]);

      // Attached: kept however old.
      expect(await collectAt(10 * GRACE_MS)).toMatchObject({ files: 0 });
      expect(await status(file.id)).toBe(200);

      // Its message deleted: hidden at once, kept through the grace period, then removed.
      expect(await app.files.detach({ channel: 'lobby', seq: 7 })).toEqual([file.id]);
      expect(await status(file.id)).toBe(404);
      expect(await collectAt(GRACE_MS - 1000)).toEqual({ files: 0, blobs: 0 });
      expect(await app.storage.stat(blobKey(sha))).not.toBeNull();
      expect(await collectAt(GRACE_MS + 1000)).toEqual({ files: 1, blobs: 1 });
      expect(await app.storage.stat(blobKey(sha))).toBeNull();
      expect(await app.storage.stat(thumbnailKey(sha))).toBeNull();
      expect((await fetch(`${app.url}${file.url}`)).status).toBe(404);
    });

    /**
     * A collection `ms` past now whose removal of this blob does not commit after its
     * objects are gone (as when a node restarts, or PostgreSQL ends the transaction, right
     * after): the storage removes the thumbnail, then the transaction fails and is undone.
     */
    async function collectWithoutCommitting(sha: string, ms: number): Promise<void> {
      const storage = app.storage;
      const failing: FileStorage = {
        kind: storage.kind,
        put: (key, body, options) => storage.put(key, body, options),
        get: (key, range) => storage.get(key, range),
        stat: (key) => storage.stat(key),
        async delete(key) {
          await storage.delete(key);
          if (key === thumbnailKey(sha)) throw new Error('the transaction did not commit');
        },
      };
      const collector = new FileCollector({ catalog: new FileCatalog(app.database), storage: failing, graceMs: GRACE_MS, logger: silentLogger });
      await expect(collector.collect(app.clock.now + ms)).rejects.toThrow('the transaction did not commit');
    }

    it('makes the thumbnail again for bytes stored anew after a collection removed them without committing, and collects such a row later', async () => {
      const png = await solidPng(120, 80, { r: 9, g: 8, b: 7 });
      const sha = sha256(png);
      const catalog = new FileCatalog(app.database);
      const made = nextThumbnail(app, png);
      await upload('alice', png);
      expect(await made).toEqual({ sha256: sha, state: 'ready' });

      // Never attached, so collected past the grace period: the objects go, the row stays.
      await collectWithoutCommitting(sha, GRACE_MS + 1000);
      expect(await app.storage.stat(blobKey(sha))).toBeNull();
      expect(await app.storage.stat(thumbnailKey(sha))).toBeNull();
      expect(await catalog.blob(sha)).toMatchObject({ thumbState: 'ready' });

      // The same bytes again: stored anew, and the thumbnail the row promised is made again.
      const remade = nextThumbnail(app, png);
      const again = await upload('alice', png);
      expect(await remade).toEqual({ sha256: sha, state: 'ready' });
      expect(await app.storage.stat(thumbnailKey(sha))).not.toBeNull();
      const described = (await (await fetch(`${app.url}/api/files/${again.id}`, { headers: { 'X-Switchboard-User': 'alice' } })).json()) as FileDescriptor;
      expect(described.thumbnail).toEqual({ width: 120, height: 80 });
      const thumb = await fetch(`${app.url}${described.thumbnailUrl}`);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/webp');

      // Left so again, with no upload to follow: the next collection removes the row, its
      // objects already gone.
      await collectWithoutCommitting(sha, GRACE_MS + 1000);
      expect(await catalog.blob(sha)).toBeDefined();
      expect((await collectAt(GRACE_MS + 1000)).blobs).toBeGreaterThanOrEqual(1);
      expect(await catalog.blob(sha)).toBeUndefined();
    });

    it('keeps a file while any message refers to it, and bytes while any file points at them', async () => {
      const bytes = randomBytes(500);
      const first = await upload('alice', bytes);
      const second = await upload('alice', bytes); // the same bytes: one blob
      await app.files.prepareAttachments(app.user('alice'), 'lobby', [first.id]);
      await app.files.attach([first.id], { channel: 'lobby', seq: 1 });
      await app.files.attach([first.id], { channel: 'lobby', seq: 2 });
      expect(await app.files.detach({ channel: 'lobby', seq: 1 })).toEqual([]);
      expect(await status(first.id)).toBe(200);

      // The second was never attached: collected after the grace period; the blob stays for the first.
      const collected = await collectAt(GRACE_MS + 1000);
      expect(collected.files).toBeGreaterThanOrEqual(1);
      expect(await status(second.id)).toBe(404);
      expect(await status(first.id)).toBe(200);
      const back = await fetch(`${app.url}${first.url}`);
      expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('refuses to attach files that are not the principal\'s, not for the channel, or hidden', async () => {
      const mine = await upload('alice', randomBytes(10));
      const hers = await upload('bob', randomBytes(10));
      const elsewhere = await upload('alice', randomBytes(10), 'other');
      const refusal = (promise: Promise<unknown>) => promise.then(() => null, (error: SwitchboardError) => error.code);
      expect(await refusal(app.files.prepareAttachments(app.user('alice'), 'lobby', [hers.id]))).toBe('forbidden');
      expect(await refusal(app.files.prepareAttachments(app.user('alice'), 'lobby', [elsewhere.id]))).toBe('bad_request');
      expect(await refusal(app.files.prepareAttachments(app.user('alice'), 'lobby', ['fAAAAAAAAAAAAAAAAAAAAAA']))).toBe('not_found');
      await app.files.prepareAttachments(app.user('alice'), 'lobby', [mine.id]);
      await app.files.attach([mine.id], { channel: 'lobby', seq: 40 });
      await app.files.detach({ channel: 'lobby', seq: 40 });
      expect(await refusal(app.files.prepareAttachments(app.user('alice'), 'lobby', [mine.id]))).toBe('not_found');
      expect(await app.files.attach([mine.id], { channel: 'lobby', seq: 41 })).toEqual([mine.id]);
    });

    it('keeps a pinned file through collection, and collects it once released and past the grace period', async () => {
      const file = await upload('alice', randomBytes(20));
      await app.files.prepareAttachments(app.user('alice'), 'lobby', [file.id]);
      await collectAt(GRACE_MS + 1000);
      expect(await status(file.id)).toBe(200);
      await app.files.release([file.id]);
      await collectAt(GRACE_MS + 1000);
      expect(await status(file.id)).toBe(404);
    });

    it('removes the files of a deleted channel, and their bytes after the grace period', async () => {
      await app.hub.createChannel(app.user('alice'), { id: 'doomed', type: 'public' });
      const bytes = randomBytes(300);
      const file = await upload('alice', bytes, 'doomed');
      const key = blobKey((await app.files.download(file.id, 'content', { kind: 'principal', principal: app.user('alice') })).etag.slice(1, -1));
      await app.hub.deleteChannel(app.user('alice'), 'doomed');
      expect((await fetch(`${app.url}${file.url}`)).status).toBe(404);
      expect(await app.storage.stat(key)).not.toBeNull();
      await collectAt(GRACE_MS + 1000);
      expect(await app.storage.stat(key)).toBeNull();
    });

    it('holds each user to the quota, counting only files not yet collected', async () => {
      const quotaUser = `quota-${setup.storage}`;
      const big = await upload(quotaUser, randomBytes(6000));
      const over = await fetch(`${app.url}/api/files?channel=lobby`, {
        method: 'POST',
        headers: { 'X-Switchboard-User': quotaUser },
        body: Buffer.from(randomBytes(6000)) as unknown as BodyInit,
      });
      expect(over.status).toBe(413);
      expect(((await over.json()) as { details: { quota: number } }).details.quota).toBe(10_000);
      await app.files.prepareAttachments(app.user(quotaUser), 'lobby', [big.id]);
      await app.files.attach([big.id], { channel: 'lobby', seq: 99 });
      await app.files.detach({ channel: 'lobby', seq: 99 });
      // Deleting the message frees the quota at once, before the bytes are collected.
      expect((await upload(quotaUser, randomBytes(6000))).size).toBe(6000);
    });
  });
}

describe('upload rate', () => {
  let app: FilesApp;
  beforeAll(async () => {
    app = await startFilesApp({ settings: { uploadsPerMinute: 3 } });
    await app.hub.createChannel(app.user('alice'), { id: 'lobby', type: 'public' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a user past their uploads per minute, on both routes, and not others', async () => {
    const post = (user: string) =>
      fetch(`${app.url}/api/files?channel=lobby`, { method: 'POST', headers: { 'X-Switchboard-User': user }, body: 'hello' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('eager')).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const resumable = await fetch(`${app.url}/api/files/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'X-Switchboard-User': 'eager', 'Upload-Length': '5', 'Upload-Metadata': `channel ${Buffer.from('lobby').toString('base64')}` },
    });
    expect(resumable.status).toBe(429);
    expect((await post('patient')).status).toBe(201);
  });
});
