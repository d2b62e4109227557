import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.js';

/** Sends one upgrade request for `target` and resolves with what came back until `until` matched or the socket closed. */
function upgrade(port: number, target: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer for ${target}; got ${JSON.stringify(received)}`));
    }, 5000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (until.test(received)) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

describe('the /ws request target', () => {
  it('upgrades the origin form and the absolute form alike, query included, and leaves other paths alone', async () => {
    const server = await startTestServer();
    const port = Number(new URL(server.url).port);
    const welcome = /"type":"welcome"[^}]*"user":"(\w+)"/;

    const plain = await upgrade(port, '/ws?user=ann', welcome);
    expect(plain).toMatch(/^HTTP\/1\.1 101 /);
    expect(welcome.exec(plain)?.[1]).toBe('ann');

    // The form a client may send through a proxy names the host too.
    const absolute = await upgrade(port, `http://127.0.0.1:${port}/ws?user=bob`, welcome);
    expect(absolute).toMatch(/^HTTP\/1\.1 101 /);
    expect(welcome.exec(absolute)?.[1]).toBe('bob');

    // The query is read as a query: an encoded name arrives decoded, an unknown encoding is refused.
    expect(welcome.exec(await upgrade(port, '/ws?user=c%61rl', welcome))?.[1]).toBe('carl');
    expect(await upgrade(port, '/ws?user=dan&encoding=xml', /\r\n\r\n/)).toMatch(/^HTTP\/1\.1 400 /);

    for (const target of ['/wsx?user=eve', '/ws/?user=eve', '/other/ws?user=eve']) {
      expect(await upgrade(port, target, /\r\n\r\n/)).toMatch(/^HTTP\/1\.1 404 /);
    }
  });
});
