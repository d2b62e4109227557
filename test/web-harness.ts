import { AxeBuilder } from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { createClient, type SwitchboardClient } from '../client/src/index.js';
import { type Config, type DeepPartial, loadConfig } from '../src/config.js';
import { type RunningServer, startServer } from '../src/server.js';
import { WEB_ROOT } from '../src/transports/web/web-routes.js';

/** What the web app's browser tests share: Chromium, a built app, a server they can stop and start. */

export const CHROMIUM = '/usr/bin/chromium';
export const WAIT = { timeout: 15_000 };
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOTS = join(ROOT, 'docs', 'img');

export function chromiumMissing(what: string): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.SWITCHBOARD_REQUIRE_SERVICES === '1') throw new Error(`${CHROMIUM} is missing; .ci/run installs it.`);
  console.warn(`skipping ${what}: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return true;
}

function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }
  return latest;
}

/**
 * Builds the web app into dist/web unless a build newer than its sources is there. Test
 * files run in parallel: one builds (under a lock directory), the others wait for it.
 */
export async function ensureWebBuilt(): Promise<void> {
  const index = join(WEB_ROOT, 'index.html');
  const sources = Math.max(newest(join(ROOT, 'web')), newest(join(ROOT, 'client', 'src')), newest(join(ROOT, 'protocol')));
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= sources;
  if (fresh()) return;
  const lock = join(tmpdir(), 'switchboard-web-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for too long; remove it if no build runs.`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (fresh()) return;
    }
  }
  try {
    if (!fresh()) execFileSync('npx', ['vite', 'build', 'web', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmdirSync(lock);
  }
}

/**
 * Chromium for one file's tests: launched once the app is built, before them, and closed
 * after them. Call it in a describe block; the getter gives the browser inside tests.
 */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    await ensureWebBuilt();
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WebServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** Stops the server (the page sees its connection drop); `start` brings it back on the same port and database. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A Node SDK client for setting things up and checking what the server stored. */
  client(user: string): Promise<SwitchboardClient>;
}

/** A real server on a loopback port with its own SQLite file, closed when the test finishes. */
export async function startWebServer(overrides: DeepPartial<Config> = {}): Promise<WebServer> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-web-'));
  const databaseUrl = `sqlite:${join(dir, 'web.db')}`;
  const boot = (port: number) =>
    startServer(
      loadConfig({
        overrides: {
          grpcPort: 0,
          // Seeding thousands of messages is not what these tests measure.
          limits: { messagesPerSecond: 100_000, messageBurst: 100_000 },
          ...overrides,
          port,
          databaseUrl,
          logLevel: 'silent',
          host: '127.0.0.1',
        },
      }),
    );
  let current: RunningServer | null = await boot(0);
  const port = current.port;
  const clients: SwitchboardClient[] = [];
  onTestFinished(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await current?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    async stop() {
      await current?.close('restart');
      current = null;
    },
    async start() {
      current = await boot(port);
    },
    async client(user: string) {
      const client = createClient({ url: `ws://127.0.0.1:${port}/ws`, user, backoff: { initialDelayMs: 50, maxDelayMs: 500 } });
      clients.push(client);
      await client.ready();
      return client;
    },
  };
}

export interface Person {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly name: string;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A person in their own browser context (own storage), signed in (open mode) and connected. */
export async function signIn(
  browser: Browser,
  url: string,
  name: string,
  options: { viewport?: { width: number; height: number }; init?: () => void } = {},
): Promise<Person> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    isMobile: options.viewport === PHONE,
    hasTouch: options.viewport === PHONE,
    deviceScaleFactor: 1,
    // No sliding drawer: what a test (or a screenshot) sees is where things end up.
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(WAIT.timeout);
  onTestFinished(() => context.close().catch(() => {}));
  const page = await context.newPage();
  if (options.init) await page.addInitScript(options.init);
  page.on('pageerror', (error) => console.warn(`[${name}] page error: ${error.message}`));
  await page.goto(url);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await connected(page);
  return { page, context, name };
}

export async function connected(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor(WAIT);
}

/** The composer of the open channel. */
export function composer(page: Page, label: string) {
  return page.getByLabel(`Message ${label}`, { exact: true });
}

export async function say(page: Page, label: string, text: string): Promise<void> {
  await composer(page, label).fill(text);
  await composer(page, label).press('Enter');
}

/** The rendered message (an article of the feed) whose text contains `text`. */
export function message(page: Page, text: string | RegExp) {
  return page.getByRole('feed').getByRole('article').filter({ hasText: text });
}

export async function openChannel(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation').getByRole('button', { name: new RegExp(`^${escapeRegExp(label)}( \\d+ unread)?$`) }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor(WAIT);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Writes docs/img/NAME.png when SWITCHBOARD_SCREENSHOTS=1 (`npm run` ... see docs/web-app.md). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SWITCHBOARD_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** The page fills the viewport exactly: nothing but the message list scrolls. */
export async function expectNoPageScroll(page: Page): Promise<void> {
  const sizes = await page.evaluate(() => ({
    document: document.documentElement.scrollHeight,
    body: document.body.scrollHeight,
    viewport: window.innerHeight,
    scrollY: window.scrollY,
  }));
  expect(sizes.document).toBe(sizes.viewport);
  expect(sizes.body).toBe(sizes.viewport);
  expect(sizes.scrollY).toBe(0);
}

/** Whether an element is inside the viewport and inside every scrolling ancestor. */
export async function inView(page: Page, locator: ReturnType<Page['locator']>): Promise<boolean> {
  return locator.evaluate((element) => {
    const box = element.getBoundingClientRect();
    if (box.height === 0 || box.bottom > window.innerHeight + 1 || box.top < -1) return false;
    for (let parent = element.parentElement; parent; parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (!/(auto|scroll)/.test(style.overflowY)) continue;
      const frame = parent.getBoundingClientRect();
      if (box.bottom > frame.bottom + 1 || box.top < frame.top - 1) return false;
    }
    return true;
  });
}

/** Publishes `count` messages quickly (batches of 100), each `text(i)`, as `client`. */
export async function seed(client: SwitchboardClient, channel: string, count: number, text: (i: number) => string): Promise<void> {
  for (let start = 1; start <= count; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(start + 100, count + 1); i++) batch.push({ channel, text: text(i) });
    const results = await client.publishBatch(batch);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw new Error(`seeding ${channel} failed: ${failed.code} ${failed.message}`);
  }
}

/** The serious and critical WCAG 2.1 A/AA problems axe finds on the page, one line each. */
export async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}
