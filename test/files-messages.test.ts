import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobKey, thumbnailKey } from '../src/files/file-storage.js';
import { as, call, grpcClient, track } from './helpers/grpc-test-client.js';
import { solidPng } from './helpers/images.js';
import { type LocalS3, startLocalS3 } from './helpers/s3rver.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { untypedBytes } from './helpers/untyped-bytes.js';
import { STREAM_WIRES, subscribeOn, type WireSubscriber } from './helpers/wire-subscribers.js';
import { WsTestClient } from './helpers/ws-test-client.js';

/**
 * Files in conversations, end to end on a whole server, on the local disk and on an
 * S3-compatible service (s3rver): upload, attach by publishing on /ws and REST, the
 * attachments in events on /ws, SSE, gRPC and REST history, links for readers only
 * (`files.get` on every wire), refused links, thumbnails, and a deleted message's files
 * hidden at once and removed after the grace period.
 */

const GRACE_SECONDS = 3600;
const TTL_SECONDS = 600;

interface Attachment {
  id: string;
  name: string;
  size: number;
  type: string;
  width: number | null;
  height: number | null;
  thumbnail: string;
}
interface FileLinks extends Attachment {
  uploader: string;
  url: string;
  thumbnailUrl: string | null;
  channel: string;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

for (const storage of ['local', 's3'] as const) {
  describe(`attachments on ${storage} storage`, () => {
    let s3: LocalS3 | null = null;
    beforeAll(async () => {
      if (storage === 's3') s3 = await startLocalS3();
    });
    afterAll(async () => {
      await s3?.close();
    });

    const clock = { now: Date.now() };
    async function start(): Promise<TestServer> {
      clock.now = Date.now();
      const o = s3?.options;
      const files = {
        gcGraceSeconds: GRACE_SECONDS,
        gcIntervalSeconds: 0,
        urlTtlSeconds: TTL_SECONDS,
        ...(o
          ? {
              storage: 's3' as const,
              s3: {
                bucket: o.bucket,
                prefix: o.prefix ?? '',
                endpoint: o.endpoint ?? null,
                forcePathStyle: true,
                accessKeyId: o.credentials!.accessKeyId,
                secretAccessKey: o.credentials!.secretAccessKey,
              },
            }
          : {}),
      };
      const server = await startTestServer({ overrides: { files }, now: () => clock.now });
      await server.hub.createChannel(user('alice'), { id: 'room', type: 'private', members: ['bob'] });
      await server.hub.createChannel(user('carol'), { id: 'elsewhere', type: 'public' });
      return server;
    }

    const user = (name: string) => ({ kind: 'user' as const, userId: name, name, roles: [] });
    const headers = (name: string, extra: Record<string, string> = {}) => ({ 'x-switchboard-user': name, ...extra });

    async function upload(server: TestServer, who: string, channel: string, name: string, bytes: Buffer): Promise<FileLinks> {
      const response = await fetch(`${server.url}/api/files?channel=${channel}&name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: headers(who, { 'content-type': 'application/octet-stream' }),
        body: bytes as unknown as BodyInit,
      });
      expect(response.status, await response.clone().text()).toBe(201);
      const file = (await response.json()) as FileLinks;
      await thumbnailSettled(server, file, bytes);
      return file;
    }

    /** Waits until the thumbnail of an image is made, so the event that carries it says `ready`. */
    async function thumbnailSettled(server: TestServer, file: FileLinks, bytes: Buffer): Promise<void> {
      const settled = new Promise<void>((resolve) => {
        const stop = server.files.onThumbnail((outcome) => {
          if (outcome.sha256 === sha256(bytes)) resolve(stop());
        });
        // Made before the listener was in place: the catalogue says so.
        void server.files.describe(user(file.uploader), file.id).then((now) => now.thumbnail !== 'pending' && resolve(stop()));
      });
      await Promise.race([settled, new Promise((_, reject) => setTimeout(() => reject(new Error('no thumbnail within 10 s')), 10_000).unref())]);
    }

    async function rest(server: TestServer, who: string, method: string, path: string, body?: unknown) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: headers(who, body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, any> };
    }

    async function wsClient(server: TestServer, who: string): Promise<WsTestClient> {
      const client = new WsTestClient(`${server.wsUrl}?user=${who}`);
      await client.opened;
      await client.waitFor((f) => f.type === 'welcome');
      return client;
    }

    it('attaches uploads by publishing on /ws and REST; every wire carries them, readers get links, others nothing', async () => {
      const server = await start();
      const png = await solidPng(640, 480);
      const report = untypedBytes(5000);
      const image = await upload(server, 'alice', 'room', 'cat.png', png);
      const other = await upload(server, 'alice', 'room', 'report.bin', report);

      const subscribers: WireSubscriber[] = [];
      for (const wire of STREAM_WIRES) subscribers.push(await subscribeOn(wire, server, { user: 'bob' }, 'room'));

      // Published on /ws: with text, two files, in the order given.
      const alice = await wsClient(server, 'alice');
      const ack = await alice.ok<{ seq: number }>('publish', { channel: 'room', text: 'look', attachments: [image.id, other.id] });
      // Published over REST: files alone, no text.
      const restPublish = await rest(server, 'alice', 'POST', '/api/channels/room/messages', { attachments: [other.id] });
      expect(restPublish.status).toBe(201);
      const second = restPublish.body.seq as number;

      const expectedImage: Attachment = { id: image.id, name: 'cat.png', size: png.length, type: 'image/png', width: 640, height: 480, thumbnail: 'ready' };
      const expectedOther: Attachment = { id: other.id, name: 'report.bin', size: report.length, type: 'application/octet-stream', width: null, height: null, thumbnail: 'none' };
      for (const subscriber of subscribers) {
        await subscriber.waitForSeq(second);
        const first = subscriber.event(ack.seq)!;
        const got = (first.attachments as Attachment[]).map((a) => normalise(a));
        expect(got, subscriber.wire).toEqual([expectedImage, expectedOther]);
        expect((subscriber.event(second)!.attachments as Attachment[]).map(normalise), subscriber.wire).toEqual([expectedOther]);
      }

      // REST history carries them too; a message without files has no `attachments` at all.
      await alice.ok('publish', { channel: 'room', text: 'plain' });
      const history = await rest(server, 'bob', 'GET', '/api/channels/room/messages');
      const events = history.body.events as { seq: number; attachments?: Attachment[] }[];
      expect(events.find((e) => e.seq === ack.seq)!.attachments).toEqual([expectedImage, expectedOther]);
      expect(events.at(-1)).not.toHaveProperty('attachments');

      // Links: files.get on /ws, REST and gRPC, for a reader.
      const bob = await wsClient(server, 'bob');
      const viaWs = await bob.ok<{ files: FileLinks[]; missing: string[] }>('files.get', { ids: [image.id, other.id] });
      const viaRest = await rest(server, 'bob', 'GET', `/api/files?ids=${image.id},${other.id}`);
      const grpc = track(grpcClient(server));
      const viaGrpc = await call<{ files: FileLinks[]; missing?: string[] }>(grpc, 'GetFiles', { ids: [image.id, other.id] }, as('bob'));
      for (const answer of [viaWs, viaRest.body as { files: FileLinks[]; missing: string[] }, viaGrpc]) {
        expect(answer.files.map((f) => [f.id, f.channel, normalise(f).thumbnail])).toEqual([
          [image.id, 'room', 'ready'],
          [other.id, 'room', 'none'],
        ]);
        expect(answer.missing ?? []).toEqual([]);
      }
      const links = viaWs.files[0]!;
      const content = await fetch(`${server.url}${links.url}`);
      expect(content.status).toBe(200);
      expect(Buffer.from(await content.arrayBuffer()).equals(png)).toBe(true);
      const thumbnail = await fetch(`${server.url}${links.thumbnailUrl}`);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get('content-type')).toBe('image/webp');
      expect(await server.files.storage.stat(thumbnailKey(sha256(png)))).not.toBeNull();
      const download = await fetch(`${server.url}${viaWs.files[1]!.url}`);
      expect(download.headers.get('content-disposition')).toMatch(/^attachment/);

      // Carol is no member: no links on any wire, no file by her credentials.
      const carol = await wsClient(server, 'carol');
      expect(await carol.ok('files.get', { ids: [image.id] })).toEqual({ files: [], missing: [image.id] });
      expect((await rest(server, 'carol', 'GET', `/api/files?ids=${image.id}`)).body).toEqual({ files: [], missing: [image.id] });
      const carolGrpc = await call<{ files?: FileLinks[]; missing: string[] }>(grpc, 'GetFiles', { ids: [image.id] }, as('carol'));
      expect([carolGrpc.files ?? [], carolGrpc.missing]).toEqual([[], [image.id]]);
      expect((await fetch(`${server.url}/api/files/${image.id}/content`, { headers: headers('carol') })).status).toBe(403);
      expect((await fetch(`${server.url}/api/files/${image.id}`, { headers: headers('carol') })).status).toBe(403);

      // A link altered, or used past its life, is refused.
      const tampered = links.url.replace(/signature=(.)/, (_, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
      expect((await fetch(`${server.url}${tampered}`)).status).toBe(403);
      const otherFile = links.url.replace(image.id, other.id);
      expect((await fetch(`${server.url}${otherFile}`)).status).toBe(403);
      clock.now += TTL_SECONDS * 1500 + 1000;
      expect((await fetch(`${server.url}${links.url}`)).status).toBe(403);
      expect((await fetch(`${server.url}${links.thumbnailUrl}`)).status).toBe(403);
      // Fresh links work again.
      const fresh = await bob.ok<{ files: FileLinks[] }>('files.get', { ids: [image.id] });
      expect((await fetch(`${server.url}${fresh.files[0]!.url}`)).status).toBe(200);
      for (const client of [alice, bob, carol]) await client.close();
    });

    it('lists the upload and download routes in the OpenAPI document', async () => {
      const server = await start();
      const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(document.paths['/api/files']!).sort()).toEqual(['get', 'post']);
      expect(document.paths['/api/files/uploads']).toHaveProperty('post');
      expect(document.paths['/api/files/uploads/{uploadId}']).toHaveProperty('patch');
      expect(document.paths['/api/files/{id}/{variant}']).toHaveProperty('get');
    });

    it("refuses files that are not the publisher's, or not for the channel, and stores nothing", async () => {
      const server = await start();
      const mine = await upload(server, 'alice', 'room', 'a.bin', randomBytes(100));
      const carols = await upload(server, 'carol', 'elsewhere', 'c.bin', randomBytes(100));
      const before = (await server.hub.getChannel(user('alice'), 'room')).lastSeq;
      const bob = await wsClient(server, 'bob');
      const refusals = [
        // Someone else's upload.
        await bob.request('publish', { channel: 'room', text: 'mine now', attachments: [mine.id] }),
        // An upload for another channel.
        await (await wsClient(server, 'carol')).request('publish', { channel: 'elsewhere', attachments: [mine.id] }),
        // Another user's upload for another channel.
        await bob.request('publish', { channel: 'room', attachments: [carols.id] }),
        // No such file; not a file id.
        await bob.request('publish', { channel: 'room', attachments: ['f' + 'x'.repeat(22)] }),
        await bob.request('publish', { channel: 'room', attachments: ['../etc/passwd'] }),
      ];
      expect(refusals.map((r) => [r.type, r.code])).toEqual([
        ['error', 'forbidden'],
        ['error', 'bad_request'],
        ['error', 'bad_request'],
        ['error', 'not_found'],
        ['error', 'bad_request'],
      ]);
      // Over REST: a non-member may not publish (nor attach) at all.
      const stranger = await rest(server, 'carol', 'POST', '/api/channels/room/messages', { attachments: [carols.id] });
      expect(stranger.status).toBe(403);
      expect((await server.hub.getChannel(user('alice'), 'room')).lastSeq).toBe(before);
      // The refused file was not taken: its uploader still attaches it.
      const alice = await wsClient(server, 'alice');
      expect((await alice.request('publish', { channel: 'room', attachments: [mine.id] })).type).toBe('ok');
      // A retry of the same cid is stored once, with the same files.
      const retry = { channel: 'room', text: 'again', cid: 'c-1', attachments: [mine.id] };
      const first = await alice.ok<{ seq: number; duplicate: boolean }>('publish', retry);
      const again = await alice.ok<{ seq: number; duplicate: boolean }>('publish', retry);
      expect([again.seq, again.duplicate]).toEqual([first.seq, true]);
    });

    it("hides a deleted message's files at once and removes them after the grace period", async () => {
      const server = await start();
      const png = await solidPng(400, 300, { r: 10, g: 200, b: 30 });
      const kept = randomBytes(2000);
      const image = await upload(server, 'alice', 'room', 'gone.png', png);
      const stays = await upload(server, 'alice', 'room', 'stays.bin', kept);
      const alice = await wsClient(server, 'alice');
      const doomed = await alice.ok<{ seq: number }>('publish', { channel: 'room', text: 'oops', attachments: [image.id] });
      await alice.ok('publish', { channel: 'room', text: 'keep', attachments: [stays.id] });
      const bob = await wsClient(server, 'bob');
      const { files } = await bob.ok<{ files: FileLinks[] }>('files.get', { ids: [image.id] });
      expect((await fetch(`${server.url}${files[0]!.url}`)).status).toBe(200);
      expect(await server.files.storage.stat(thumbnailKey(sha256(png)))).not.toBeNull();

      await alice.ok('delete', { channel: 'room', seq: doomed.seq });
      // Hidden at once: no link, no bytes (even by a link given before), no attachments in history.
      expect(await bob.ok('files.get', { ids: [image.id] })).toEqual({ files: [], missing: [image.id] });
      expect((await fetch(`${server.url}${files[0]!.url}`)).status).toBe(404);
      const history = await rest(server, 'bob', 'GET', '/api/channels/room/messages');
      const tombstone = (history.body.events as { seq: number; deletedAt: number | null }[]).find((e) => e.seq === doomed.seq);
      expect(tombstone).toMatchObject({ text: null, deletedAt: expect.any(Number) });
      expect(tombstone).not.toHaveProperty('attachments');
      // The bytes stay until the grace period has passed.
      await server.files.collectGarbage();
      expect(await server.files.storage.stat(blobKey(sha256(png)))).not.toBeNull();
      clock.now += GRACE_SECONDS * 1000 + 1000;
      await server.files.collectGarbage();
      expect(await server.files.storage.stat(blobKey(sha256(png)))).toBeNull();
      expect(await server.files.storage.stat(thumbnailKey(sha256(png)))).toBeNull();
      // The other message's file is untouched.
      expect(await server.files.storage.stat(blobKey(sha256(kept)))).not.toBeNull();
      const still = await bob.ok<{ files: FileLinks[] }>('files.get', { ids: [stays.id] });
      const response = await fetch(`${server.url}${still.files[0]!.url}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(kept)).toBe(true);
    });
  });
}

/** A gRPC attachment as the others: enum names, absent nulls. */
function normalise(attachment: Attachment): Attachment {
  const thumbnail = String(attachment.thumbnail).replace(/^THUMBNAIL_STATE_/, '').toLowerCase();
  return {
    id: attachment.id,
    name: attachment.name,
    size: Number(attachment.size),
    type: attachment.type,
    width: attachment.width ?? null,
    height: attachment.height ?? null,
    thumbnail,
  };
}
