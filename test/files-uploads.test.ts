import { randomBytes } from 'node:crypto';
import { statSync, watch } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileDescriptor } from '../src/files/files.js';
import { blobKey, thumbnailKey } from '../src/files/file-storage.js';
import { type FilesApp, nextThumbnail, sha256, type StorageKind, startFilesApp } from './helpers/files-app.js';
import { bombPng, solidPng } from './helpers/images.js';
import { createUpload, patchAndCut, patchUpload, uploadOffset } from './helpers/tus-client.js';
import { untypedBytes } from './helpers/untyped-bytes.js';
import { Waiters } from './helpers/waiters.js';

/**
 * The files module over HTTP on both storages: single and resumable uploads (a cut
 * connection resumed), downloads by readers with credentials or signed links, refusals,
 * thumbnails made once, ranges and caching headers, and hostile input.
 */

const MiB = 1024 * 1024;

async function upload(
  app: FilesApp,
  user: string,
  channel: string,
  body: Uint8Array,
  options: { name?: string; contentType?: string } = {},
): Promise<Response> {
  const query = new URLSearchParams({ channel, ...(options.name !== undefined && { name: options.name }) });
  return fetch(`${app.url}/api/files?${query}`, {
    method: 'POST',
    headers: { 'X-Switchboard-User': user, 'Content-Type': options.contentType ?? 'application/octet-stream' },
    body: Buffer.from(body) as unknown as BodyInit,
  });
}

async function uploaded(app: FilesApp, user: string, channel: string, body: Uint8Array, name = 'file.bin'): Promise<FileDescriptor> {
  const response = await upload(app, user, channel, body, { name });
  if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as FileDescriptor;
}

for (const kind of ['local', 's3'] as const satisfies readonly StorageKind[]) {
  describe(`files on ${kind} storage`, () => {
    let app: FilesApp;

    beforeAll(async () => {
      app = await startFilesApp({
        storage: kind,
        settings: { maxFileBytes: 8 * MiB, maxSingleUploadBytes: 2 * MiB, maxImagePixels: 4_000_000, uploadsPerMinute: 1000 },
      });
      const alice = app.user('alice');
      await app.hub.createChannel(alice, { id: 'lobby', type: 'public' });
      await app.hub.createChannel(alice, { id: 'staff', type: 'private' });
      await app.hub.createChannel(alice, { id: 'notices', type: 'public', publish: 'members' });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('takes a single-request upload, sniffs its type, and serves it to a reader by credentials and by signed link', async () => {
      const png = await solidPng(64, 48);
      const response = await upload(app, 'alice', 'lobby', png, { name: 'red.png', contentType: 'text/html' });
      expect(response.status).toBe(201);
      const file = (await response.json()) as FileDescriptor;
      expect(file).toMatchObject({ name: 'red.png', size: png.length, type: 'image/png', width: 64, height: 48, channel: 'lobby', uploader: 'alice' });
      expect(file.id).toMatch(/^f[A-Za-z0-9_-]{22}$/);

      const byCredentials = await fetch(`${app.url}/api/files/${file.id}/content`, { headers: { 'X-Switchboard-User': 'bob' } });
      expect(byCredentials.status).toBe(200);
      expect(Buffer.from(await byCredentials.arrayBuffer()).equals(png)).toBe(true);

      const described = await fetch(`${app.url}/api/files/${file.id}`, { headers: { 'X-Switchboard-User': 'bob' } });
      const { url } = (await described.json()) as FileDescriptor;
      const bySignedLink = await fetch(`${app.url}${url}`); // no headers at all, as an <img> sends
      expect(bySignedLink.status).toBe(200);
      expect(bySignedLink.headers.get('content-type')).toBe('image/png');
      expect(bySignedLink.headers.get('x-content-type-options')).toBe('nosniff');
      expect(bySignedLink.headers.get('content-disposition')).toMatch(/^inline; filename="red.png"/);
      expect(bySignedLink.headers.get('cache-control')).toMatch(/^private, max-age=\d+/);
      expect(Buffer.from(await bySignedLink.arrayBuffer()).equals(png)).toBe(true);
      expect(await app.storage.stat(blobKey(sha256(png)))).toEqual({ size: png.length });
    });

    it('takes a multipart/form-data upload and names it after its part', async () => {
      const bytes = untypedBytes(5000);
      const form = new FormData();
      form.append('file', new Blob([bytes]), 'notes.dat');
      const response = await fetch(`${app.url}/api/files?channel=lobby`, { method: 'POST', headers: { 'X-Switchboard-User': 'alice' }, body: form });
      expect(response.status).toBe(201);
      const file = (await response.json()) as FileDescriptor;
      expect(file).toMatchObject({ name: 'notes.dat', size: 5000, type: 'application/octet-stream' });
      const back = await fetch(`${app.url}${file.url}`);
      expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('refuses an upload from a user who may not publish in the channel', async () => {
      const notMember = await upload(app, 'bob', 'staff', randomBytes(100));
      expect(notMember.status).toBe(403);
      const membersOnly = await upload(app, 'bob', 'notices', randomBytes(100));
      expect(membersOnly.status).toBe(403);
      expect(((await membersOnly.json()) as { code: string }).code).toBe('forbidden');
      const resumable = await createUpload(app.url, 'bob', 100, { channel: 'staff', filename: 'x' });
      expect(resumable.status).toBe(403);
      const anonymous = await fetch(`${app.url}/api/files?channel=lobby`, { method: 'POST', body: 'x' });
      expect(anonymous.status).toBe(401);
    });

    it('refuses downloads to non-readers, and links that expired or were altered', async () => {
      const secret = await uploaded(app, 'alice', 'staff', randomBytes(2000), 'plans.txt');
      expect((await fetch(`${app.url}/api/files/${secret.id}`, { headers: { 'X-Switchboard-User': 'bob' } })).status).toBe(403);
      expect((await fetch(`${app.url}/api/files/${secret.id}/content`, { headers: { 'X-Switchboard-User': 'bob' } })).status).toBe(403);
      expect((await fetch(`${app.url}/api/files/${secret.id}/content`)).status).toBe(401);

      const link = new URL(secret.url, app.url);
      expect((await fetch(link)).status).toBe(200);
      const tampered = new URL(link);
      const signature = tampered.searchParams.get('signature')!;
      tampered.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
      expect((await fetch(tampered)).status).toBe(403);
      const stretched = new URL(link);
      stretched.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
      expect((await fetch(stretched)).status).toBe(403);
      const other = await uploaded(app, 'alice', 'staff', randomBytes(10));
      const borrowed = new URL(`/api/files/${other.id}/content${link.search}`, app.url);
      expect((await fetch(borrowed)).status).toBe(403);
      const asThumbnail = new URL(`/api/files/${secret.id}/thumbnail${link.search}`, app.url);
      expect((await fetch(asThumbnail)).status).toBe(403);

      const before = app.clock.now;
      app.clock.now = secret.urlsExpireAt + 1;
      try {
        const expired = await fetch(link);
        expect(expired.status).toBe(403);
        expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
      } finally {
        app.clock.now = before;
      }
    });

    it('resumes an upload whose connection was cut in the middle', async () => {
      const bytes = randomBytes(3 * MiB + 123);
      const created = await createUpload(app.url, 'alice', bytes.length, { channel: 'lobby', filename: 'video.bin' });
      expect(created.status).toBe(201);
      const uploadUrl = new URL(created.headers.get('location')!, app.url).toString();
      const uploadId = uploadUrl.split('/').pop()!;
      const staged = join(app.directory, 'files', 'uploads', uploadId);

      // Half is sent, the server writes at least 1 MiB of it, then the network goes.
      const waiters = new Waiters();
      const watcher = watch(staged, waiters.wake);
      try {
        await patchAndCut(uploadUrl, 'alice', 0, bytes, Math.floor(bytes.length / 2), () =>
          waiters.until(() => statSync(staged).size >= MiB, 10_000, 'the server to write 1 MiB').then(() => {}),
        );
      } finally {
        watcher.close();
      }

      // A client resumes from what the server reports (409 while the cut request winds down: ask again).
      let finished: Response | null = null;
      for (let attempt = 0; attempt < 20 && !finished; attempt++) {
        const { status, offset } = await uploadOffset(uploadUrl, 'alice');
        expect(status).toBe(200);
        expect(offset).toBeGreaterThanOrEqual(MiB);
        expect(offset).toBeLessThan(bytes.length);
        const response = await patchUpload(uploadUrl, 'alice', offset!, bytes.subarray(offset!));
        if (response.status === 204) finished = response;
        else expect([409, 423]).toContain(response.status);
      }
      expect(finished).not.toBeNull();
      const fileId = finished!.headers.get('switchboard-file-id');
      expect(fileId).toMatch(/^f/);

      const described = await fetch(`${app.url}/api/files/${fileId}`, { headers: { 'X-Switchboard-User': 'bob' } });
      const file = (await described.json()) as FileDescriptor;
      expect(file).toMatchObject({ name: 'video.bin', size: bytes.length });
      const back = Buffer.from(await (await fetch(`${app.url}${file.url}`)).arrayBuffer());
      expect(sha256(back)).toBe(sha256(bytes));

      // The uploader can find the file again if the last answer was lost; nobody else can.
      const again = await fetch(`${app.url}/api/files/uploads/${uploadId}`, { headers: { 'X-Switchboard-User': 'alice' } });
      expect(((await again.json()) as FileDescriptor).id).toBe(fileId);
      expect((await fetch(`${app.url}/api/files/uploads/${uploadId}`, { headers: { 'X-Switchboard-User': 'bob' } })).status).toBe(404);
    });

    it("answers a resumable upload only to its uploader", async () => {
      const created = await createUpload(app.url, 'alice', 10, { channel: 'lobby', filename: 'a.txt' });
      const uploadUrl = new URL(created.headers.get('location')!, app.url).toString();
      expect((await uploadOffset(uploadUrl, 'mallory')).status).toBe(404);
      expect((await patchUpload(uploadUrl, 'mallory', 0, randomBytes(10))).status).toBe(404);
      expect(await uploadOffset(uploadUrl, 'alice')).toEqual({ status: 200, offset: 0 });
    });

    it('makes a thumbnail in the background, once per distinct image', async () => {
      const png = await solidPng(1200, 900, { r: 10, g: 120, b: 200 });
      const made = app.files.thumbnails.made;
      const outcome = nextThumbnail(app, png);
      const first = await uploaded(app, 'alice', 'lobby', png, 'photo.png');
      expect(await outcome).toEqual({ sha256: sha256(png), state: 'ready' });

      const described = (await (await fetch(`${app.url}/api/files/${first.id}`, { headers: { 'X-Switchboard-User': 'alice' } })).json()) as FileDescriptor;
      expect(described.thumbnail).toEqual({ width: 320, height: 240 });
      const thumb = await fetch(`${app.url}${described.thumbnailUrl}`);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 320, 240]);

      // The same bytes again: stored once, and no second thumbnail is made.
      const second = await uploaded(app, 'bob', 'lobby', png, 'same.png');
      expect(second.id).not.toBe(first.id);
      expect(second.thumbnail).toEqual({ width: 320, height: 240 });
      expect(app.files.thumbnails.made).toBe(made + 1);
      expect(await app.storage.stat(thumbnailKey(sha256(png)))).not.toBeNull();
    });

    it('serves byte ranges, answers 416 past the end and 304 for a current ETag', async () => {
      const bytes = randomBytes(1000);
      const file = await uploaded(app, 'alice', 'lobby', bytes);
      const link = `${app.url}${file.url}`;
      const part = await fetch(link, { headers: { Range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 100-199/1000');
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
      const tail = await fetch(link, { headers: { Range: 'bytes=-10' } });
      expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(990))).toBe(true);
      const past = await fetch(link, { headers: { Range: 'bytes=5000-' } });
      expect(past.status).toBe(416);
      expect(past.headers.get('content-range')).toBe('bytes */1000');
      const whole = await fetch(link);
      const etag = whole.headers.get('etag')!;
      expect(etag).toBe(`"${sha256(bytes)}"`);
      await whole.arrayBuffer();
      expect((await fetch(link, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    });

    describe('hostile input', () => {
      it('serves an HTML page renamed .png as a download of unknown bytes, never as a page or an image', async () => {
        const html = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
        const file = await uploaded(app, 'mallory', 'lobby', html, 'cat.png');
        expect(file).toMatchObject({ name: 'cat.png', type: 'application/octet-stream', width: null, thumbnail: null });
        const response = await fetch(`${app.url}${file.url}`);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('content-disposition')).toMatch(/^attachment;/);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('content-security-policy')).toContain('sandbox');
        expect(await response.text()).toBe(html.toString());
      });

      it('refuses a declared length of 2 GB before reading the body, on both upload routes', async () => {
        const { request } = await import('node:http');
        const url = new URL(`${app.url}/api/files?channel=lobby`);
        const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
          const req = request(
            { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'POST', headers: { 'X-Switchboard-User': 'mallory', 'Content-Length': String(2 * 1024 ** 3) } },
            (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => {
                resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection });
                req.destroy();
              });
            },
          );
          req.on('error', reject);
          req.write(randomBytes(1024)); // and then nothing: the rest never comes
        });
        expect(answer.status).toBe(413);
        expect(answer.connection).toBe('close');
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'too_large' });

        const resumable = await createUpload(app.url, 'mallory', 2 * 1024 ** 3, { channel: 'lobby', filename: 'big.iso' });
        expect(resumable.status).toBe(413);
      });

      it('stores a decompression bomb without decoding it: no thumbnail, served as a download', async () => {
        const bomb = bombPng(20_000, 20_000); // 400 megapixels in under 50 KB
        const made = app.files.thumbnails.made;
        const file = await uploaded(app, 'mallory', 'lobby', bomb, 'bomb.png');
        expect(file).toMatchObject({ type: 'image/png', width: 20_000, height: 20_000, thumbnail: null, thumbnailUrl: null });
        const response = await fetch(`${app.url}${file.url}`);
        expect(response.headers.get('content-disposition')).toMatch(/^attachment;/);
        expect(Buffer.from(await response.arrayBuffer()).length).toBe(bomb.length);
        const thumbnail = await fetch(`${app.url}/api/files/${file.id}/thumbnail`, { headers: { 'X-Switchboard-User': 'mallory' } });
        expect(thumbnail.status).toBe(404);
        expect(app.files.thumbnails.made).toBe(made);
      });

      it('sanitises path, NUL, control and bidirectional characters out of names, and sends them back safely', async () => {
        const cases: [string, string][] = [
          ['../../etc/passwd', 'passwd'],
          ['..\\..\\windows\\system32\\cmd.exe', 'cmd.exe'],
          ['a\u0000b.txt', 'ab.txt'],
          ['report\r\nSet-Cookie: x=1.pdf', 'report Set-Cookie_ x=1.pdf'],
          ['invoice\u202Egpj.exe', 'invoicegpj.exe'],
          ['...', 'file'],
          ['CON.txt', '_CON.txt'],
        ];
        for (const [given, expected] of cases) {
          const file = await uploaded(app, 'mallory', 'lobby', randomBytes(16), given);
          expect(file.name, JSON.stringify(given)).toBe(expected);
          const response = await fetch(`${app.url}${file.url}`);
          const disposition = response.headers.get('content-disposition')!;
          expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/);
          await response.arrayBuffer();
        }
      });
    });
  });
}
