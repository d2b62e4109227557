import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumMissing, composer, signIn, startWebServer, useBrowser, WAIT, type WebServer } from './web-harness.js';

/** In the page: counts the `presence` requests the app sends (`window.presenceAsked`). */
function countPresenceRequests(): void {
  const w = window as unknown as { presenceAsked: number };
  w.presenceAsked = 0;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
    if (typeof data === 'string' && data.includes('"type":"presence"')) w.presenceAsked++;
    return send.call(this, data);
  };
}

const presenceAsked = (page: Page) => page.evaluate(() => (window as unknown as { presenceAsked: number }).presenceAsked);

/** `count` users subscribed to the channel with presence, from clients of the server's. */
async function crowd(server: WebServer, channel: string, count: number, prefix = 'guest'): Promise<void> {
  for (let start = 0; start < count; start += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - start) }, async (_, k) => {
        const client = await server.client(`${prefix}${String(start + k).padStart(3, '0')}`);
        await client.subscribe(channel, () => {});
      }),
    );
  }
}

/**
 * A channel's presence as the web app reads it on open: every page while join/leave
 * frames keep the list true (`members` mode), the first page only in occupancy mode,
 * where the count comes live and the rest of the list is read on request.
 */
describe.skipIf(chromiumMissing('the web app presence tests'))('web app: presence of a large channel', () => {
  const browser = useBrowser();

  it('reads one page of a channel in occupancy mode and shows its count from it', async () => {
    // A count is pushed at most once a minute: the one shown on opening is the page's.
    const server = await startWebServer({ presence: { occupancyAbove: 20, occupancyIntervalMs: 60_000 } });
    const owner = await server.client('olga');
    await owner.createChannel({ channel: 'general', type: 'public' });
    await crowd(server, 'general', 120);
    const { page } = await signIn(browser(), server.url, 'alice', { init: countPresenceRequests });
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Members', exact: true }).click();
    // The 120, and alice once her own subscription is in (it is, before the app asks).
    await page.getByRole('complementary', { name: 'Members' }).getByText('121 here now').waitFor(WAIT);
    // One page of 100, though 21 more follow.
    expect(await presenceAsked(page)).toBe(1);
  });

  it('keeps an occupancy count heard while the pages of the list were read', async () => {
    const server = await startWebServer({ presence: { occupancyAbove: 130, occupancyIntervalMs: 200 } });
    const owner = await server.client('olga');
    await owner.createChannel({ channel: 'general', type: 'public' });
    await crowd(server, 'general', 121);
    // The reply to the second presence page is held until the channel has gone over the threshold.
    const person = await signIn(browser(), server.url, 'alice');
    const tab = await person.context.newPage();
    let secondAsked: () => void;
    const asked = new Promise<void>((resolve) => (secondAsked = resolve));
    let release: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await tab.routeWebSocket(/\/ws/, (socket) => {
      const upstream = socket.connectToServer();
      let second: number | null = null;
      socket.onMessage((data) => {
        const frame = JSON.parse(String(data)) as { type: string; id: number; after?: string };
        if (frame.type === 'presence' && frame.after !== undefined && second === null) {
          second = frame.id;
          secondAsked();
        }
        upstream.send(data);
      });
      upstream.onMessage((data) => {
        const frame = JSON.parse(String(data)) as { type: string; id?: number };
        if (frame.type === 'ok' && frame.id === second) void released.then(() => socket.send(data));
        else socket.send(data);
      });
    });
    await tab.goto(server.url);
    await tab.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await asked;
    await crowd(server, 'general', 20, 'late');
    await tab.getByRole('button', { name: 'Members', exact: true }).click();
    const panel = tab.getByRole('complementary', { name: 'Members' });
    await panel.getByText(/1[34]\d here now/).waitFor(WAIT);
    release!();
    // The read is done once its users are known: @ completion offers one from its second page.
    await composer(tab, '#general').pressSequentially('@guest12');
    await tab.getByRole('option', { name: 'guest120' }).waitFor(WAIT);
    // Its pages, read in members mode, are older than the count: the count stays.
    expect(await panel.getByText(/1[34]\d here now/).count()).toBe(1);
  });

  it('reads every page of a channel whose presence comes as join and leave', async () => {
    const server = await startWebServer();
    const owner = await server.client('olga');
    await owner.createChannel({ channel: 'general', type: 'public' });
    await crowd(server, 'general', 120);
    const { page } = await signIn(browser(), server.url, 'alice', { init: countPresenceRequests });
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    // 120 users (and alice, perhaps) are two pages of 100.
    await expect.poll(() => presenceAsked(page), WAIT).toBe(2);
    await page.getByRole('button', { name: 'Members', exact: true }).click();
    await page.getByRole('complementary', { name: 'Members' }).getByText(/member/).first().waitFor(WAIT);
    expect(await page.getByText(/here now/).count()).toBe(0);
  });
});
