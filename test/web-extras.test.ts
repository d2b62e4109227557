import { describe, expect, it } from 'vitest';
import { chromiumMissing, message, openChannel, screenshot, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

/**
 * What the web app shows from the server's own state: a channel's topic, your role (what
 * settings you may change), a thread's reply count on a root whose replies are not loaded,
 * a jump into a long channel with one `history around` request, and a joined channel's past
 * not counted as unread.
 */
/** A working team's talk in a channel, so pictures show a real one. */
async function chatter(server: Awaited<ReturnType<typeof startWebServer>>, channel: string): Promise<void> {
  const lines: [string, string][] = [
    ['maya', 'Morning! The launch checklist is pinned in the wiki.'],
    ['leo', 'Landing page copy is in review, two comments left.'],
    ['maya', 'Pricing table needs the **annual** plan added.'],
    ['sam', 'Support macros for the launch are drafted.'],
    ['leo', 'Screenshots updated for the new onboarding flow.'],
    ['priya', 'Legal signed off on the terms page.'],
    ['sam', 'Status page has a maintenance window for the 12th.'],
    ['maya', 'Moving the launch gives us time for the `--dry-run` migration.'],
    ['priya', 'Press kit is final: logos, screenshots, quotes.'],
  ];
  for (const [user, text] of lines) await (await server.client(user)).publish(channel, text);
}

describe.skipIf(chromiumMissing('the web app extras tests'))('web app: topics, roles, thread counts, jumps, joining', () => {
  const browser = useBrowser();

  it('shows the topic in the header; an admin made by the owner may change it, live for everyone', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);

    await alice.getByRole('button', { name: 'Channel settings' }).click();
    const settings = alice.getByRole('dialog', { name: 'Settings of #general' });
    await settings.getByLabel('Topic').fill('Everything about the spring launch');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.waitFor({ state: 'detached', ...WAIT });
    const header = (page: typeof bob) => page.locator('.channel-header');
    await header(bob).getByText('Everything about the spring launch').waitFor(WAIT);
    // The channel browser shows topics, and your role where it is more than member.
    await alice.getByRole('button', { name: 'Browse channels' }).first().click();
    const browse = alice.getByRole('dialog', { name: 'Browse channels' });
    await browse.getByText('Everything about the spring launch').waitFor(WAIT);
    await browse.getByText('Joined (owner)').waitFor(WAIT);
    await browse.getByRole('button', { name: 'Close' }).click();

    // Bob is a member: he may not change it, until the owner makes him an admin.
    await bob.getByRole('button', { name: 'Channel settings' }).click();
    const bobSettings = bob.getByRole('dialog', { name: 'Settings of #general' });
    await bobSettings.getByText("Only the channel's owners and admins change its settings.").waitFor(WAIT);
    expect(await bobSettings.getByLabel('Topic').count()).toBe(0);
    await bobSettings.getByRole('button', { name: 'Close' }).click();
    const owner = await server.client('alice');
    await owner.addMember('general', 'bob', 'admin');
    // The role arrives through bob's live channel list: no reload.
    await expect
      .poll(async () => {
        await bob.getByRole('button', { name: 'Channel settings' }).click();
        const form = await bob.getByRole('dialog', { name: 'Settings of #general' }).getByLabel('Topic').count();
        if (form === 0) await bob.getByRole('dialog', { name: 'Settings of #general' }).getByRole('button', { name: 'Close' }).click();
        return form;
      }, WAIT)
      .toBe(1);
    await bobSettings.getByLabel('Topic').fill('Launch moved to May 12');
    await bobSettings.getByRole('button', { name: 'Save' }).click();
    await header(alice).getByText('Launch moved to May 12').waitFor(WAIT);
    await chatter(server, 'general');
    await message(alice, 'Press kit is final').waitFor(WAIT);
    await alice.mouse.move(0, 0);
    await screenshot(alice, 'channel-topic');
    expect((await owner.getChannel('general')).topic).toBe('Launch moved to May 12');
    // An admin changes settings but does not delete the channel.
    await bob.getByRole('button', { name: 'Channel settings' }).click();
    expect(await bobSettings.getByRole('button', { name: 'Delete channel' }).count()).toBe(0);
  }, 60_000);

  it('jumps into a long channel with one history-around request, and shows the server reply count of a root whose replies are not loaded', async () => {
    const server = await startWebServer();
    const olga = await server.client('olga');
    await olga.createChannel({ channel: 'general', type: 'public' });
    await olga.createChannel({ channel: 'eng', type: 'public', title: 'Engineering' });
    const filler = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ channel: 'eng', text: `status update ${from + i}` }));
    await olga.publishBatch(filler(1, 100));
    const root = await olga.publish('eng', 'Who owns the database migration?');
    await olga.publishBatch(filler(101, 100));
    for (const [user, text] of [
      ['maya', 'I can take it'],
      ['leo', 'I will review'],
      ['sam', 'Dashboards are ready'],
    ] as const) {
      await (await server.client(user)).publish('eng', { text, replyTo: root.seq });
    }
    await olga.publishBatch(filler(201, 100));

    const { page } = await signIn(browser(), server.url, 'dan');
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    const sent: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => sent.push(String(frame.payload))));
    // A link to the root (as "Copy link" makes it), opened in a fresh page load.
    await page.goto(`${server.url}/#c=eng&m=${root.seq}`);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '#eng' }).waitFor(WAIT);
    const rootRow = message(page, 'Who owns the database migration?');
    await rootRow.waitFor(WAIT);
    const arounds = sent.filter((f) => f.includes('"type":"history"') && f.includes(`"around":${root.seq}`));
    expect(arounds).toHaveLength(1);
    // The replies are ~100 messages further on, outside the loaded page: the count is the server's.
    expect(await message(page, 'Dashboards are ready').count()).toBe(0);
    await rootRow.getByRole('button', { name: /3 replies/ }).waitFor(WAIT);
    await message(page, 'status update 100').waitFor(WAIT);

    // A live reply is counted on the root at once.
    await (await server.client('maya')).publish('eng', { text: 'Starting now', replyTo: root.seq });
    await rootRow.getByRole('button', { name: /4 replies/ }).waitFor(WAIT);
    await rootRow.getByRole('button', { name: /4 replies/ }).click();
    const thread = page.getByRole('complementary', { name: 'Thread' });
    await thread.getByText('Starting now').waitFor(WAIT);
    await thread.getByText('I can take it').waitFor(WAIT);
  }, 90_000);

  it("joining a channel leaves its past read: no unread badge, on this page or after a reload", async () => {
    const server = await startWebServer();
    const olga = await server.client('olga');
    await olga.createChannel({ channel: 'general', type: 'public' });
    await olga.createChannel({ channel: 'design', type: 'public', title: 'Design reviews' });
    await olga.publishBatch(Array.from({ length: 30 }, (_, i) => ({ channel: 'design', text: `old mockup ${i + 1}` })));
    const { page } = await signIn(browser(), server.url, 'dan');
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Browse channels' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Browse channels' });
    await dialog.getByRole('button', { name: 'Join #design' }).click();
    await page.getByRole('navigation').getByRole('button', { name: '#design', exact: true }).waitFor(WAIT);
    const dan = await server.client('dan');
    const lastSeq = (await dan.getChannel('design')).lastSeq;
    expect((await dan.chat.readPositions('design')).find((p) => p.user === 'dan')?.seq).toBe(lastSeq);

    await page.reload();
    await page.getByRole('navigation').getByRole('button', { name: '#design', exact: true }).waitFor(WAIT);
    // Something new after joining is unread, and only that.
    await openChannel(page, '#general');
    await olga.publish('design', 'fresh mockup');
    await page.getByRole('navigation').getByRole('button', { name: '#design 1 unread' }).waitFor(WAIT);
    await openChannel(page, '#design');
    await message(page, 'fresh mockup').waitFor(WAIT);
  }, 60_000);
});
