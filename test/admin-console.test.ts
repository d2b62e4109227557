import { AxeBuilder } from '@axe-core/playwright';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { expect, it, onTestFinished } from 'vitest';
import { NodeProcess } from './helpers/cluster.js';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { WsTestClient } from './helpers/ws-test-client.js';
import { chromiumMissing, launchBrowser, screenshot, WAIT } from './web-harness.js';

// The admin console in Chromium against two node processes on PostgreSQL and Redis: the
// operator signs in on node A and watches and acts on the whole cluster.

const API_KEY = 'admin-console-test-key-0123456789';
const SECRET = 'admin-console-test-jwt-secret-0123456789';
const VIEWPORT = { width: 1280, height: 860 };

function token(user: string): Promise<string> {
  return new SignJWT({ sub: user, name: user }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

/** A user's /ws connection to one node, with a token (auth "jwt"), welcomed. */
async function connect(node: NodeProcess, user: string): Promise<WsTestClient> {
  const client = new WsTestClient(node.wsUrl, { headers: { authorization: `Bearer ${await token(user)}` } });
  onTestFinished(async () => {
    await client.close();
  });
  await client.opened;
  await client.waitFor((frame) => frame.type === 'welcome');
  return client;
}

/** Serious or critical WCAG 2.1 AA problems axe-core finds on the page as it is, one line each. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

/** The number a figure card of the overview shows (`Messages/s` ...). */
async function figure(page: Page, metric: string): Promise<number> {
  const text = await page.locator(`[data-metric="${metric}"] .value`).innerText();
  return Number(text.replace(/[^\d.]/g, ''));
}

/** Waits until a figure card satisfies `check`; the console redraws it every second. */
async function figureUntil(page: Page, metric: string, check: (value: number) => boolean, what: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await figure(page, metric);
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${metric} shows ${value}`);
    // The next redraw: the live indicator's time changes once a second.
    const shown = await page.locator('#live').innerText();
    await page.waitForFunction((before) => document.getElementById('live')?.textContent !== before, shown, WAIT);
  }
}

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'admin console on a two-node cluster', () => {
  it('shows both nodes live, moves its counters while a publisher runs, and disconnects a user on the other node', async () => {
    if (chromiumMissing('the admin console test')) return;
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'adminconsole');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'adminconsole');
    const nodes: NodeProcess[] = [];
    onTestFinished(async () => {
      await Promise.all(nodes.map((node) => node.kill()));
      await schema.drop();
      await redis.drop();
    });
    const config = { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY] };
    const a = await NodeProcess.start({ databaseUrl: schema.url, redisUrl: redis.url, config });
    nodes.push(a);
    const b = await NodeProcess.start({ databaseUrl: schema.url, redisUrl: redis.url, config });
    nodes.push(b);
    const nameOf = (node: NodeProcess) => `127.0.0.1:${node.port}`;

    // A team spread over both nodes; a channel with readers on each.
    const alice = await connect(a, 'alice');
    const carol = await connect(a, 'carol');
    const bob = await connect(b, 'bob');
    const dave = await connect(b, 'dave');
    const pushbot = await connect(b, 'pushbot');
    await alice.ok('channel.create', { channel: 'releases', channelType: 'public', title: 'Release train' });
    for (const reader of [alice, carol, bob, dave]) await reader.ok('subscribe', { channel: 'releases' });
    await alice.ok('channel.create', { channel: 'staff', channelType: 'private', title: 'Staff only', members: ['carol', 'dave'] });
    await dave.ok('subscribe', { channel: 'staff' });
    await alice.ok('publish', { channel: 'releases', text: 'Release 2.4 goes out today.' });
    await bob.ok('publish', { channel: 'releases', text: 'Checklist is in the wiki.' });

    const browser = await launchBrowser();
    onTestFinished(() => browser.close());
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT.timeout);
    const page = await context.newPage();
    page.on('pageerror', (error) => console.warn(`[admin] page error: ${error.message}`));

    // Signing in: auth "jwt" on this cluster, so the console asks for a key or an admin's token.
    await page.goto(`${a.url}/admin`);
    await page.getByLabel('API key').fill('not-the-key-0123456789');
    await page.getByRole('button', { name: 'Sign in with the key' }).click();
    await page.getByRole('alert').filter({ hasText: 'The API key is not valid.' }).waitFor(WAIT);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in with the key' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor(WAIT);

    // Both nodes, from either node's reports, ready.
    const rows = page.locator('#nodes tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    for (const node of [a, b]) await rows.filter({ hasText: nameOf(node) }).filter({ hasText: 'Ready' }).waitFor(WAIT);
    await rows.filter({ hasText: nameOf(a) }).filter({ hasText: 'this node' }).waitFor(WAIT);
    await figureUntil(page, 'sessions', (value) => value === 5, 'five sessions over both nodes');

    // A publisher on B: the counters move every second, on A's console.
    const before = await figure(page, 'published');
    let sent = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await pushbot.ok('publish', { channel: 'releases', text: `build ${++sent} is green` });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    try {
      await figureUntil(page, 'published-per-second', (value) => value > 0, 'messages/s above 0');
      await figureUntil(page, 'delivered-per-second', (value) => value > 0, 'deliveries/s above 0');
      const bRow = rows.filter({ hasText: nameOf(b) });
      await expect.poll(async () => Number((await bRow.locator('td').nth(4).innerText()).replace(/[^\d.]/g, '')), WAIT).toBeGreaterThan(0);
      await figureUntil(page, 'published', (value) => value >= before + 150, 'messages since start up by 150', 30_000);
      await screenshot(page, 'admin-overview');
      expect(await accessibilityProblems(page)).toEqual([]);
    } finally {
      publishing = false;
      await publisher;
    }
    await figureUntil(page, 'published-per-second', (value) => value === 0, 'messages/s back to 0 once the publisher stopped');
    expect(await figure(page, 'published')).toBeGreaterThanOrEqual(before + sent);

    // Users: everyone, with the node they are on; bob is on B.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor(WAIT);
    const bobRow = page.locator('#users tbody tr[data-user="bob"]');
    await bobRow.filter({ hasText: nameOf(b) }).waitFor(WAIT);
    await page.locator('#users tbody tr[data-user="alice"]').filter({ hasText: nameOf(a) }).waitFor(WAIT);
    await page.getByText('5 users connected').waitFor(WAIT);
    await screenshot(page, 'admin-users');
    expect(await accessibilityProblems(page)).toEqual([]);

    // Disconnect bob, who is on the other node, from A's console.
    await page.getByRole('button', { name: 'Disconnect bob' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disconnect bob everywhere?' });
    await dialog.waitFor(WAIT);
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByText('Disconnected 1 session of bob.').waitFor(WAIT);
    expect(await bob.closed).toBe(4403);
    expect(bob.frames).toContainEqual(expect.objectContaining({ type: 'close', reconnect: false }));
    await bobRow.waitFor({ state: 'detached', ...WAIT });
    await page.getByText('4 users connected').waitFor(WAIT);
    expect(dave.closeCode).toBeNull();

    // The channel browser: members, who is online, history.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Channels' }).click();
    await page.locator('#channel-list button[data-channel="releases"]').click();
    await page.getByRole('heading', { level: 2, name: 'releases — Release train' }).waitFor(WAIT);
    // alice, carol and dave; bob was disconnected.
    await page.getByText('Online now (3)').waitFor(WAIT);
    await page.getByText('alice, carol, dave', { exact: true }).waitFor(WAIT);
    await page.getByRole('list', { name: 'History of releases' }).getByText(`build ${sent} is green`).waitFor(WAIT);
    await screenshot(page, 'admin-channels');
    expect(await accessibilityProblems(page)).toEqual([]);

    // Archive: read-only from now on, for a publisher on the other node too.
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    await page.getByRole('dialog', { name: 'Archive releases?' }).getByRole('button', { name: 'Archive' }).click();
    await page.getByText('Archived releases: it is read-only now.').waitFor(WAIT);
    await page.getByRole('button', { name: 'Unarchive', exact: true }).waitFor(WAIT);
    expect(await pushbot.request('publish', { channel: 'releases', text: 'one more build' })).toMatchObject({ type: 'error', code: 'archived' });

    // Remove a member of a private channel: their subscription on B ends.
    await page.locator('#channel-list button[data-channel="staff"]').click();
    await page.getByRole('heading', { level: 2, name: 'staff — Staff only' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Remove dave from staff' }).click();
    await page.getByRole('dialog', { name: 'Remove dave from staff?' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByText('Removed dave from staff.').waitFor(WAIT);
    await dave.waitFor((frame) => frame.type === 'unsubscribed' && frame.channel === 'staff');
    await page.getByRole('table', { name: 'Members of staff' }).locator('tr[data-member="dave"]').waitFor({ state: 'detached', ...WAIT });

    // The audit log has the disconnect, who made it, and its count.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit log' }).click();
    const entries = page.locator('#audit tbody tr');
    await entries.filter({ hasText: 'users.disconnect' }).filter({ hasText: 'bob' }).filter({ hasText: 'disconnected: 1' }).filter({ hasText: nameOf(a) }).waitFor(WAIT);
    await expect.poll(() => entries.locator('td:nth-child(3)').allInnerTexts(), WAIT).toEqual(['members.remove', 'channel.archive', 'users.disconnect']);
    await screenshot(page, 'admin-audit');
    expect(await accessibilityProblems(page)).toEqual([]);
  }, 180_000);
});

