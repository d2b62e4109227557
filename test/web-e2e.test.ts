import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_ROOT } from '../src/transports/web/web-routes.js';
import { startTestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../docs/img/', import.meta.url));
const WAIT = { timeout: 15_000 };

function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.SWITCHBOARD_REQUIRE_SERVICES === '1') throw new Error(`${CHROMIUM} is missing; .ci/run installs it.`);
  console.warn(`skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return true;
}

describe.skipIf(chromiumMissing())('web app in a real browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(`${WEB_ROOT}/index.html`)) {
      execFileSync('npx', ['vite', 'build', 'web', '--logLevel', 'warn'], { stdio: 'inherit' });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function signIn(url: string, name: string, viewport = { width: 1200, height: 760 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.status', { hasText: 'Connected' }).waitFor(WAIT);
    return page;
  }

  const messages = (page: Page) => page.locator('.messages article .body');

  it('lets alice and bob chat, edit, delete, type, DM, and survive a server restart', async () => {
    const server = await startTestServer();
    const alice = await signIn(server.url, 'alice');
    const bob = await signIn(server.url, 'bob');

    // Alice creates a channel; bob sees it appear without reloading.
    await alice.getByLabel('Channel name').fill('launch');
    await alice.getByRole('button', { name: 'Create' }).click();
    await alice.locator('header h1', { hasText: '#launch' }).waitFor(WAIT);
    await bob.getByRole('button', { name: '#launch' }).waitFor(WAIT);
    await bob.getByRole('button', { name: '#launch' }).click();
    await bob.locator('header h1', { hasText: '#launch' }).waitFor(WAIT);

    // They exchange messages.
    await alice.getByLabel('Message #launch').fill('hello bob');
    await alice.getByLabel('Message #launch').press('Enter');
    await bob.locator('.messages', { hasText: 'hello bob' }).waitFor(WAIT);
    await bob.getByLabel('Message #launch').fill('hi alice, typo here');
    await bob.getByRole('button', { name: 'Send' }).click();
    await bob.getByLabel('Message #launch').fill('this one goes away');
    await bob.getByLabel('Message #launch').press('Enter');
    await alice.locator('.messages', { hasText: 'this one goes away' }).waitFor(WAIT);

    // A typing indicator shows.
    await bob.getByLabel('Message #launch').pressSequentially('still typ');
    await alice.locator('.typing', { hasText: 'bob is typing' }).waitFor(WAIT);
    await bob.getByLabel('Message #launch').fill('');

    // Bob edits one message and deletes another; alice sees both.
    await bob.getByRole('button', { name: 'Edit message 2' }).click();
    await bob.getByLabel('Edit message', { exact: true }).fill('hi alice, fixed');
    await bob.getByRole('button', { name: 'Save' }).click();
    await bob.getByRole('button', { name: 'Delete message 3' }).click();
    await alice.locator('.messages', { hasText: 'hi alice, fixed' }).waitFor(WAIT);
    await alice.locator('.messages', { hasText: 'This message was deleted.' }).waitFor(WAIT);
    expect(await messages(alice).allTextContents()).toEqual(['hello bob', 'hi alice, fixed', 'This message was deleted.']);
    await expect.poll(() => alice.locator('.messages', { hasText: '(edited)' }).count()).toBe(1);

    // A server error is shown, not swallowed.
    await bob.getByLabel('Channel name').fill('launch');
    await bob.getByRole('button', { name: 'Create' }).click();
    await bob.locator('.toast', { hasText: 'already exists' }).waitFor(WAIT);

    // Bob starts a DM with alice from the people list.
    await bob.getByRole('button', { name: 'Message alice directly' }).click();
    await bob.locator('header h1', { hasText: '@alice' }).waitFor(WAIT);
    await bob.getByLabel('Message @alice').fill('just between us');
    await bob.getByLabel('Message @alice').press('Enter');
    await alice.getByRole('button', { name: /@bob/ }).waitFor(WAIT);
    // Alice is still in #launch, so the DM shows as unread.
    await alice.getByRole('button', { name: '@bob 1 unread' }).waitFor(WAIT);

    if (process.env.SWITCHBOARD_SCREENSHOTS === '1') {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await alice.screenshot({ path: `${SCREENSHOTS}desktop.png` });
      const phone = await signIn(server.url, 'carol', { width: 390, height: 844 });
      await phone.getByRole('button', { name: 'Show channels' }).waitFor(WAIT);
      await phone.locator('header h1', { hasText: '#launch' }).waitFor(WAIT);
      await phone.locator('.messages', { hasText: 'hello bob' }).waitFor(WAIT);
      await phone.screenshot({ path: `${SCREENSHOTS}phone.png` });
      await phone.context().close();
    }

    // The server restarts: the page says so, and a message sent meanwhile appears once.
    const reconnecting = alice.locator('.status', { hasText: 'Reconnecting' }).waitFor(WAIT);
    const restarted = server.restart();
    await reconnecting;
    await restarted;
    const other = await WsTestClient.connect(server.wsUrl, 'dave');
    await other.ok('publish', { channel: 'launch', text: 'sent while you were away' });
    await other.close();
    await alice.locator('.status', { hasText: 'Connected' }).waitFor(WAIT);
    await alice.locator('.messages', { hasText: 'sent while you were away' }).waitFor(WAIT);
    await alice.getByRole('button', { name: '#launch' }).click();
    await alice.locator('.messages', { hasText: 'sent while you were away' }).waitFor(WAIT);
    expect(await messages(alice).allTextContents()).toEqual([
      'hello bob',
      'hi alice, fixed',
      'This message was deleted.',
      'sent while you were away',
    ]);
    await alice.context().close();
    await bob.context().close();
  }, 90_000);

  it('registers and signs in with a password in accounts mode, and stays signed in across a reload', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts' } });
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('User name').fill('erin');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.status', { hasText: 'Connected' }).waitFor(WAIT);
    await page.getByLabel('Channel name').fill('accounts-room');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByLabel('Message #accounts-room').fill('signed in for real');
    await page.getByLabel('Message #accounts-room').press('Enter');
    await page.locator('.messages', { hasText: 'signed in for real' }).waitFor(WAIT);

    await page.reload();
    await page.locator('.status', { hasText: 'Connected' }).waitFor(WAIT);
    await page.locator('.messages', { hasText: 'signed in for real' }).waitFor(WAIT);
    expect(await page.locator('.me strong').textContent()).toBe('erin');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').fill('erin');
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor(WAIT);
    await context.close();
  }, 60_000);
});
