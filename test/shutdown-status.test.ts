import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startTestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const USERS = 300;

describe('graceful shutdown', () => {
  it('records every connected user offline before the database closes', async () => {
    // Every client comes from 127.0.0.1: lift the per-address cap (256).
    const server = await startTestServer({ overrides: { limits: { connectionsPerIp: 1000 } } });
    const clients = await Promise.all(Array.from({ length: USERS }, (_, i) => WsTestClient.connect(server.wsUrl, `leaver-${i}`)));
    onTestFinished(() => Promise.all(clients.map((client) => client.close())).then(() => {}));
    expect(clients.every((client) => client.frames.some((f) => f.type === 'welcome'))).toBe(true);

    // The sockets are still open when the stop begins: their sessions end during it, and
    // each ends with an offline status write that used to meet a closed database.
    await server.close('test stop');

    const db = new Database(server.databaseUrl.replace(/^sqlite:/, ''), { readonly: true });
    try {
      const rows = db.prepare("SELECT status, COUNT(*) AS n FROM user_status WHERE user_id LIKE 'leaver-%' GROUP BY status").all();
      expect(rows).toEqual([{ status: 'offline', n: USERS }]);
    } finally {
      db.close();
    }
  });
});
