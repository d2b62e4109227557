import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ChannelEvent, ClientError, createClient } from '../client/src/index.js';
import { solidPng } from './helpers/images.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';
import { untypedBytes } from './helpers/untyped-bytes.js';

/**
 * The SDK's `upload()` against a real server: one request for a small file, tus in chunks
 * for a large one (resumed after its connections are cut), progress to the end, and a
 * publish with the file that another client receives with its attachment and links.
 */
describe('client SDK: uploads', () => {
  const clients = useSdkClients();

  it('uploads a small image in one request and publishes it; a reader gets its links', async () => {
    const server = await startTestServer();
    const alice = clients.connect(server.url, 'alice');
    const bob = clients.connect(server.url, 'bob');
    await alice.createChannel({ channel: 'pics', type: 'public' });
    let delivered!: (event: ChannelEvent) => void;
    const withFiles = new Promise<ChannelEvent>((resolve) => (delivered = resolve));
    await bob.subscribe('pics', (event) => event.attachments && delivered(event));

    const png = await solidPng(300, 200);
    const progress: number[] = [];
    const file = await alice.upload(new Blob([new Uint8Array(png)]), { channel: 'pics', name: 'shot.png', onProgress: ({ sent }) => progress.push(sent) });
    expect(file).toMatchObject({ name: 'shot.png', size: png.length, type: 'image/png', width: 300, height: 200, channel: 'pics' });
    expect(progress.at(0)).toBe(0);
    expect(progress.at(-1)).toBe(png.length);

    const ack = await alice.publish('pics', { text: 'the screenshot', attachments: [file.id] });
    const event = await withFiles;
    expect(event.seq).toBe(ack.seq);
    expect(event.attachments?.map((a) => [a.id, a.name, a.type])).toEqual([[file.id, 'shot.png', 'image/png']]);
    const [links] = await bob.fileLinks([file.id]);
    const bytes = Buffer.from(await (await fetch(new URL(links!.url, server.url))).arrayBuffer());
    expect(bytes.equals(png)).toBe(true);
  });

  it('uploads a large file resumably in chunks, resuming after its connections are cut', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    const alice = clients.track(createClient({ url: `http://127.0.0.1:${proxy.port}`, user: 'alice' }));
    await alice.createChannel({ channel: 'big', type: 'public' });
    const bytes = untypedBytes(600 * 1024);
    const progress: number[] = [];
    let cuts = 0;
    const file = await alice.upload(new Blob([new Uint8Array(bytes)]), {
      channel: 'big',
      name: 'data.bin',
      resumableAbove: 64 * 1024,
      chunkBytes: 128 * 1024,
      onProgress: ({ sent }) => {
        progress.push(sent);
        // Cut every connection twice along the way: the next chunk resumes from the server's offset.
        if (cuts < 2 && sent > (cuts + 1) * 200 * 1024) {
          cuts++;
          proxy.dropAll();
        }
      },
    });
    expect(cuts).toBe(2);
    expect(file).toMatchObject({ name: 'data.bin', size: bytes.length, type: 'application/octet-stream', thumbnail: 'none' });
    expect(progress.at(-1)).toBe(bytes.length);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const stored = Buffer.from(await (await fetch(new URL(file.url, server.url))).arrayBuffer());
    expect(stored.equals(bytes)).toBe(true);
  });

  it('rejects with the server refusal: a channel the user may not publish in', async () => {
    const server = await startTestServer();
    const owner = clients.connect(server.url, 'owner');
    await owner.createChannel({ channel: 'closed', type: 'private' });
    const stranger = clients.connect(server.url, 'stranger');
    const refused = await stranger.upload(new Blob([new Uint8Array(randomBytes(10))]), { channel: 'closed' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).code).toMatch(/^(forbidden|not_found)$/);
  });
});
