import { describe, expect, it } from 'vitest';
import { chromiumMissing, composer, connected, message, openChannel, say, screenshot, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

describe.skipIf(chromiumMissing('the web app resilience tests'))('web app: never losing what was typed', () => {
  const browser = useBrowser();

  it('keeps a message typed while the server is down, shows it as sending, and stores it once after "Retry now"', async () => {
    const server = await startWebServer();
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    const alice = (
      await signIn(browser(), server.url, 'alice', {
        // Long, fixed reconnect delays: only "Retry now" brings the page back quickly.
        init: () => localStorage.setItem('switchboard.backoff', JSON.stringify({ initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: false })),
      })
    ).page;
    await say(alice, '#general', 'before the outage');
    await message(bob, 'before the outage').waitFor(WAIT);

    await server.stop();
    await alice.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor(WAIT);
    // The next attempt is a long way off.
    await alice.getByRole('alert').filter({ hasText: /Reconnecting in [2-6]\d s/ }).waitFor({ timeout: 20_000 });
    await say(alice, '#general', 'typed while the server was down');
    const pending = message(alice, 'typed while the server was down');
    await pending.getByText('Sending…').waitFor(WAIT);
    expect(await composer(alice, '#general').inputValue()).toBe('');
    await screenshot(alice, 'reconnecting');

    await server.start();
    await alice.getByRole('button', { name: 'Retry now' }).click();
    await connected(alice);
    await pending.getByText('Sending…').waitFor({ state: 'detached', ...WAIT });
    await message(bob, 'typed while the server was down').waitFor(WAIT);

    const reader = await server.client('reader');
    const { events } = await reader.history('general', { limit: 50 });
    expect(events.filter((e) => e.text === 'typed while the server was down')).toHaveLength(1);
    expect(await message(alice, 'typed while the server was down').count()).toBe(1);
    expect(await message(bob, 'typed while the server was down').count()).toBe(1);
  }, 60_000);

  it('sends what a page left unsent with its cid when the next page opens, stored once however often', async () => {
    const server = await startWebServer();
    const writer = await server.client('wendy');
    await writer.createChannel({ channel: 'general', type: 'public' });
    // What a page closed during an outage leaves in storage: put back on every load, as if
    // each page had died before it heard the server's answer.
    const alice = (
      await signIn(browser(), server.url, 'alice', {
        init: () =>
          localStorage.setItem(
            'switchboard.alice.outbox',
            JSON.stringify([{ cid: 'web-left-behind-1', channel: 'general', text: 'written before the reload', replyTo: null, createdAt: Date.now(), error: null }]),
          ),
      })
    ).page;
    await message(alice, 'written before the reload').waitFor(WAIT);
    for (let load = 0; load < 2; load++) {
      await alice.reload();
      await connected(alice);
      await message(alice, 'written before the reload').waitFor(WAIT);
      await expect.poll(() => alice.getByText('Sending…').count(), WAIT).toBe(0);
    }
    await expect.poll(async () => (await writer.history('general', { limit: 50 })).events.filter((e) => e.cid === 'web-left-behind-1').length, WAIT).toBe(1);
    await expect.poll(() => message(alice, 'written before the reload').count(), WAIT).toBe(1);
  });

  it('keeps a draft per channel across reloads, and unread counts too', async () => {
    const server = await startWebServer();
    const writer = await server.client('wendy');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await writer.createChannel({ channel: 'random', type: 'public' });
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await composer(alice, '#general').fill('half a thought for general');

    await alice.getByRole('button', { name: 'Browse channels' }).first().click();
    await alice.getByRole('button', { name: 'Join #random' }).click();
    await alice.getByRole('heading', { level: 1, name: '#random' }).waitFor(WAIT);
    // The draft of #general stays in #general.
    expect(await composer(alice, '#random').inputValue()).toBe('');
    await composer(alice, '#random').fill('a random draft');
    await openChannel(alice, '#general');
    expect(await composer(alice, '#general').inputValue()).toBe('half a thought for general');

    for (const text of ['one', 'two', 'three']) await writer.publish('random', `random ${text}`);
    await alice.getByRole('navigation').getByRole('button', { name: '#random 3 unread' }).waitFor(WAIT);

    await alice.reload();
    await connected(alice);
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await alice.getByRole('navigation').getByRole('button', { name: '#random 3 unread' }).waitFor(WAIT);
    expect(await composer(alice, '#general').inputValue()).toBe('half a thought for general');
    await openChannel(alice, '#random');
    expect(await composer(alice, '#random').inputValue()).toBe('a random draft');
    await alice.getByText('New messages', { exact: true }).waitFor(WAIT);
    // Sending clears the draft for good.
    await composer(alice, '#random').press('Enter');
    await message(alice, 'a random draft').waitFor(WAIT);
    await alice.reload();
    await connected(alice);
    await alice.getByRole('heading', { level: 1, name: '#random' }).waitFor(WAIT);
    expect(await composer(alice, '#random').inputValue()).toBe('');
    expect(await alice.getByRole('navigation').getByRole('button', { name: '#random' }).textContent()).toBe('#random');
  });

  it('turns a refused message into an error with Retry and Discard, and speaks in sentences', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    const long = `${'word '.repeat(820)}end`;
    await composer(alice, '#general').fill(long);
    await composer(alice, '#general').press('Enter');
    const refused = alice.getByRole('alert').filter({ hasText: 'Your message was not sent: it is too long. Split it into shorter messages.' });
    await refused.waitFor(WAIT);
    await refused.getByRole('button', { name: 'Retry' }).click();
    await refused.waitFor(WAIT);
    await refused.getByRole('button', { name: 'Discard' }).click();
    await refused.waitFor({ state: 'detached', ...WAIT });
    // Nothing pending is left behind after a reload.
    await alice.reload();
    await connected(alice);
    expect(await alice.getByText('Your message was not sent').count()).toBe(0);

    await alice.getByRole('button', { name: 'Browse channels' }).first().click();
    await alice.getByLabel('Channel name').fill('general');
    await alice.getByRole('button', { name: 'Create channel' }).click();
    await alice.getByRole('alert').filter({ hasText: 'The channel was not created: a channel with that name already exists.' }).waitFor(WAIT);
    await alice.getByLabel('Channel name').fill('no spaces or ümlauts!');
    await alice.getByRole('button', { name: 'Create channel' }).click();
    await alice.getByRole('alert').filter({ hasText: 'use letters, digits, - _ or . in its name' }).waitFor(WAIT);
  });
});
