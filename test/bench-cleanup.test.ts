import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { deferCleanup, runDeferredCleanups } from '../bench/lib/cleanup.js';
import { createScratchDatabase } from '../bench/lib/scratch-database.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

describe('bench deferred clean-up (an interrupted run)', () => {
  it('runs each task still owed once, and none that was settled the ordinary way', async () => {
    const ran: string[] = [];
    deferCleanup(async () => void ran.push('owed'));
    const settled = deferCleanup(async () => void ran.push('settled'));
    settled();
    await runDeferredCleanups();
    await runDeferredCleanups();
    expect(ran).toEqual(['owed']);
  });

  it('gives up on a task that hangs once the time is up, and still runs the others', async () => {
    const ran: string[] = [];
    deferCleanup(() => new Promise<void>(() => {}));
    deferCleanup(async () => void ran.push('quick'));
    const started = performance.now();
    await runDeferredCleanups(200);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(ran).toEqual(['quick']);
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'bench scratch database', () => {
  async function exists(name: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: serviceUrl('TEST_DATABASE_URL') });
    await client.connect();
    try {
      const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return result.rowCount === 1;
    } finally {
      await client.end();
    }
  }

  it('is dropped by an interrupted run even while a server is still connected to it', async () => {
    const database = await createScratchDatabase(serviceUrl('TEST_DATABASE_URL')!);
    const server = new pg.Client({ connectionString: database.url });
    await server.connect();
    server.on('error', () => {});
    expect(await exists(database.name)).toBe(true);
    await runDeferredCleanups();
    expect(await exists(database.name)).toBe(false);
    await server.end().catch(() => {});
  });
});
