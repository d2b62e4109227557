import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../client/src/index.js';
import { DropProxy } from './helpers/drop-proxy.js';
import { startTestServer } from './helpers/test-server.js';

const CHROMIUM = '/usr/bin/chromium';
const ENTRY = fileURLToPath(new URL('../client/src/index.ts', import.meta.url));

function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.SWITCHBOARD_REQUIRE_SERVICES === '1') throw new Error(`${CHROMIUM} is missing; .ci/run installs it.`);
  console.warn(`skipping the SDK browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return true;
}

interface PageState {
  states: string[];
  seqs: number[];
  published: number[];
}

describe.skipIf(chromiumMissing())('client SDK in a real browser', () => {
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    // The same build as `npm run build:client`, as a script tag exposing `Switchboard`.
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      minify: true,
      format: 'iife',
      globalName: 'Switchboard',
      platform: 'browser',
      target: 'es2022',
      write: false,
    });
    bundle = result.outputFiles[0]!.text;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.each(['json', 'msgpack'] as const)('uses the browser WebSocket (%s), and resumes without loss after the connection is cut', async (encoding) => {
    // The page is about:blank (origin "null"): allow it, as an app would list its own origin.
    const server = await startTestServer({ overrides: { allowedOrigins: ['*'] } });
    const proxy = await DropProxy.start(server.port);
    const writer = createClient({ url: server.wsUrl, user: 'writer' });
    try {
      await writer.createChannel({ channel: 'lobby', type: 'public' });
      const page = await (await browser.newContext()).newPage();
      await page.addScriptTag({ content: bundle });
      const url = `ws://127.0.0.1:${proxy.port}/ws`;
      await page.evaluate(async ({ url, encoding }) => {
        const { createClient } = (window as unknown as { Switchboard: typeof import('../client/src/index.js') }).Switchboard;
        const state: PageState = { states: [], seqs: [], published: [] };
        (window as unknown as { state: PageState }).state = state;
        const client = createClient({ url, user: 'browser', encoding, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
        (window as unknown as { client: typeof client }).client = client;
        client.on('state', ({ state: s }) => state.states.push(s));
        await client.subscribe('lobby', (event) => state.seqs.push(event.seq));
      }, { url, encoding });

      for (let i = 1; i <= 20; i++) await writer.publish('lobby', `before ${i}`);
      await page.waitForFunction(() => (window as unknown as { state: PageState }).state.seqs.length === 20);
      proxy.dropAll();
      // Published while the browser is cut off, and from the browser while it reconnects.
      for (let i = 21; i <= 40; i++) await writer.publish('lobby', `during ${i}`);
      await page.evaluate(async () => {
        const w = window as unknown as { state: PageState; client: ReturnType<typeof createClient> };
        const results = await Promise.all([1, 2, 3].map((n) => w.client.publish('lobby', `from the browser ${n}`)));
        w.state.published = results.map((r) => r.seq);
      });
      await page.waitForFunction(() => (window as unknown as { state: PageState }).state.seqs.length === 43, null, {
        timeout: 15_000,
      });
      const state = await page.evaluate(() => (window as unknown as { state: PageState }).state);
      expect(state.seqs).toEqual(Array.from({ length: 43 }, (_, i) => i + 1));
      expect(state.published.sort((a, b) => a - b)).toEqual([41, 42, 43]);
      expect(state.states).toEqual(['connected', 'reconnecting', 'connected']);
      await page.evaluate(() => (window as unknown as { client: ReturnType<typeof createClient> }).client.close());
    } finally {
      await writer.close();
      await proxy.close();
    }
  });

  it('does not carry the `ws` package into the browser bundle', () => {
    // The bundler sees only the `ws` package's browser stub (a few bytes), never its Node code.
    expect(bundle).not.toContain('permessage-deflate');
    // The SDK alone is about 22 KB unminified-IIFE; `ws`'s Node code would add over 100 KB.
    expect(bundle.length).toBeLessThan(40_000);
  });
});

describe('client SDK bundle', () => {
  it('holds only the SDK and the plain files of the protocol module (codes, names, MessagePack, compact events, event ids): no server source, no zod', async () => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
    // `ws` resolves to its browser stub; node_modules may be a link to elsewhere.
    const foreign = inputs.filter(
      (path) =>
        !/^client\/src\/[a-z-]+\.ts$/.test(path) &&
        !['protocol/codes.ts', 'protocol/names.ts', 'protocol/msgpack.ts', 'protocol/compact-event.ts', 'protocol/event-id.ts'].includes(path) &&
        !path.endsWith('node_modules/ws/browser.js'),
    );
    expect(foreign).toEqual([]);
    expect(inputs).toContain('protocol/codes.ts');
  });
});
