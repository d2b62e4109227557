/**
 * The web app's two figures: its bundle size (gzipped), and the time to open a channel of
 * 10,000 messages in real Chromium, from the click in the sidebar until the newest
 * message is on screen (median of several runs), plus a cold page load onto that channel.
 *
 *   npx tsx bench/web-open-channel.ts [--messages 10000] [--runs 7]
 *
 * Builds the app first if dist/web is missing. Run it on an otherwise idle machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { createClient } from '../client/src/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = join(ROOT, 'dist', 'web');
const CHROMIUM = '/usr/bin/chromium';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const MESSAGES = option('messages', 10_000);
const RUNS = option('runs', 7);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function bundleSize(): { js: number; css: number; jsRaw: number } {
  const assets = join(WEB, 'assets');
  let js = 0;
  let css = 0;
  let jsRaw = 0;
  for (const name of readdirSync(assets)) {
    const bytes = readFileSync(join(assets, name));
    if (name.endsWith('.js')) {
      js += gzipSync(bytes, { level: 9 }).length;
      jsRaw += bytes.length;
    } else if (name.endsWith('.css')) css += gzipSync(bytes, { level: 9 }).length;
  }
  return { js, css, jsRaw };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium).`);
  if (!existsSync(join(WEB, 'index.html'))) execFileSync('npx', ['vite', 'build', 'web', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  const size = bundleSize();

  const dir = mkdtempSync(join(tmpdir(), 'switchboard-web-bench-'));
  const server = await startServer(
    loadConfig({
      overrides: {
        port: 0,
        grpcPort: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        databaseUrl: `sqlite:${join(dir, 'bench.db')}`,
        limits: { messagesPerSecond: 100_000, messageBurst: 100_000 },
      },
    }),
  );
  const writer = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, user: 'writer' });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await writer.createChannel({ channel: 'general', type: 'public' });
    await writer.createChannel({ channel: 'big', type: 'public' });
    const seeding = Date.now();
    for (let start = 1; start <= MESSAGES; start += 100) {
      const batch = [];
      for (let i = start; i < Math.min(start + 100, MESSAGES + 1); i++) {
        batch.push({ channel: 'big', text: `bench message ${i}: a line of text of ordinary length, like people write in a chat` });
      }
      await writer.publishBatch(batch);
    }
    console.log(`seeded ${MESSAGES} messages in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);

    const switches: number[] = [];
    const loads: number[] = [];
    const rendered: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const user = `reader${run}`;
      await page.goto(server.url);
      await page.getByLabel('Your name').fill(user);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: '#general' }).waitFor({ timeout: 30_000 });
      // Join #big (so it is in the sidebar), then come back to #general.
      await page.getByRole('button', { name: 'Browse channels' }).first().click();
      await page.getByRole('button', { name: 'Join #big' }).click();
      await page.getByRole('heading', { level: 1, name: '#big' }).waitFor();
      await page.getByRole('navigation').getByRole('button', { name: '#general' }).click();
      await page.getByRole('heading', { level: 1, name: '#general' }).waitFor();
      // A fresh page, so #big is not cached in memory: open it from the sidebar and time it in the page.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: '#general' }).waitFor({ timeout: 30_000 });
      const newest = `bench message ${MESSAGES}:`;
      // A string, not a function: tsx would wrap a function's inner helpers in its own `__name`.
      const elapsed = (await page.evaluate(`new Promise((resolve) => {
        const newest = ${JSON.stringify(newest)};
        const button = [...document.querySelectorAll('nav button')].find((b) => b.textContent === '#big');
        const start = performance.now();
        const check = () => {
          const article = [...document.querySelectorAll('[role=feed] article')].find((a) => a.textContent.includes(newest));
          const box = article && article.getBoundingClientRect();
          if (box && box.bottom <= window.innerHeight && box.height > 0) resolve(performance.now() - start);
          else requestAnimationFrame(check);
        };
        button.click();
        requestAnimationFrame(check);
      })`)) as number;
      switches.push(elapsed);
      rendered.push(await page.locator('[role=feed] article').count());

      // Cold: a new page load that lands on #big (the last channel open).
      const loadStart = Date.now();
      await page.reload();
      await page.locator('[role=feed] article', { hasText: newest }).waitFor({ timeout: 30_000 });
      loads.push(Date.now() - loadStart);
      await context.close();
    }
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
    console.log(`bundle: ${kb(size.js)} JS + ${kb(size.css)} CSS gzipped (${kb(size.jsRaw)} JS minified)`);
    console.log(`open a channel of ${MESSAGES} messages (click to newest message on screen), median of ${RUNS}: ${median(switches).toFixed(0)} ms (min ${Math.min(...switches).toFixed(0)}, max ${Math.max(...switches).toFixed(0)})`);
    console.log(`page load straight onto it (reload to newest message), median of ${RUNS}: ${median(loads)} ms`);
    console.log(`message rows in the page after opening: ${median(rendered)}`);
  } finally {
    await browser.close();
    await writer.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
