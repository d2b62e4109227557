import { describe, expect, it } from 'vitest';
import { chromiumMissing, message, openChannel, say, screenshot, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

describe.skipIf(chromiumMissing('the web app channel tests'))('web app: channels, members, settings', () => {
  const browser = useBrowser();

  it('browses public channels, previews one, and joins it', async () => {
    const server = await startWebServer();
    const owner = await server.client('olga');
    await owner.createChannel({ channel: 'general', type: 'public' });
    await owner.createChannel({ channel: 'design', type: 'public', title: 'Design reviews', topic: 'Mockups and critiques, Tuesdays at 10' });
    await owner.createChannel({ channel: 'launch', type: 'public', title: 'Spring launch' });
    await owner.publish('design', 'new mockups are up');
    const { page } = await signIn(browser(), server.url, 'dan');
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    // Not a member of #design: not in the sidebar, but in the browser.
    expect(await page.getByRole('navigation').getByRole('button', { name: '#design' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Browse channels' }).first().click();
    const browserDialog = page.getByRole('dialog', { name: 'Browse channels' });
    await browserDialog.getByText('Design reviews').waitFor(WAIT);
    await browserDialog.getByText('Mockups and critiques, Tuesdays at 10').waitFor(WAIT);
    await screenshot(page, 'channel-browser');
    await browserDialog.getByRole('button', { name: 'Open #design' }).click();
    await message(page, 'new mockups are up').waitFor(WAIT);
    await page.getByText('You are viewing #design.').waitFor(WAIT);
    await page.getByRole('button', { name: 'Join #design' }).click();
    await page.getByLabel('Message #design', { exact: true }).waitFor(WAIT);
    await say(page, '#design', 'looks great');
    await message(page, 'looks great').waitFor(WAIT);
    const members = await owner.listMembers('design');
    expect(members.map((m) => m.user).sort()).toEqual(['dan', 'olga']);
    // The membership survives a reload.
    await page.reload();
    await page.getByRole('navigation').getByRole('button', { name: '#design' }).waitFor(WAIT);
  });

  it('adds members to a private channel, changes a role, and a removed member stops seeing it', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    const carol = (await signIn(browser(), server.url, 'carol')).page;
    await carol.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);

    await alice.getByRole('button', { name: 'Browse channels' }).first().click();
    await alice.getByLabel('Channel name').fill('secret-plans');
    await alice.getByRole('radio', { name: /Private/ }).check();
    await alice.getByRole('button', { name: 'Create channel' }).click();
    await alice.getByRole('dialog', { name: 'Browse channels' }).waitFor({ state: 'detached', ...WAIT });
    await alice.getByRole('heading', { level: 1, name: '#secret-plans' }).waitFor(WAIT);
    await say(alice, '#secret-plans', 'the surprise party is on saturday');

    // Bob cannot see it yet.
    expect(await bob.getByRole('navigation').getByRole('button', { name: '#secret-plans' }).count()).toBe(0);

    await alice.getByRole('button', { name: 'Members' }).click();
    const panel = alice.getByRole('complementary', { name: 'Members' });
    await panel.getByText('1 member of #secret-plans').waitFor(WAIT);
    for (const user of ['bob', 'carol']) {
      await panel.getByLabel('Add someone').fill(user);
      await panel.getByRole('button', { name: 'Add', exact: true }).click();
    }
    await panel.getByText('3 members of #secret-plans').waitFor(WAIT);
    await panel.getByLabel('Role of carol').selectOption('admin');
    const probe = await server.client('alice');
    await expect.poll(async () => (await probe.listMembers('secret-plans')).find((m) => m.user === 'carol')?.role, WAIT).toBe('admin');
    await screenshot(alice, 'members');
    // Carol, an admin now, manages the members too; bob, a member, only sees them.
    await openChannel(carol, '#secret-plans');
    await carol.getByRole('button', { name: 'Members' }).click();
    const carolsPanel = carol.getByRole('complementary', { name: 'Members' });
    await carolsPanel.getByLabel('Add someone').waitFor(WAIT);
    await carolsPanel.getByLabel('Role of bob').waitFor(WAIT);

    // Bob sees the channel appear, opens it, reads the history.
    await openChannel(bob, '#secret-plans');
    await message(bob, 'the surprise party is on saturday').waitFor(WAIT);

    // Removed (with a confirmation): bob loses the channel at once, with a word about it.
    await panel.getByRole('button', { name: 'Remove bob' }).click();
    await alice.getByRole('dialog', { name: 'Remove member' }).getByRole('button', { name: 'Remove' }).click();
    await bob.getByText('You no longer have access to #secret-plans.').waitFor(WAIT);
    await bob.getByRole('navigation').getByRole('button', { name: '#secret-plans' }).waitFor({ state: 'detached', ...WAIT });
    expect(await message(bob, 'the surprise party').count()).toBe(0);
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    // New messages there never reach bob's page, and a reload does not bring it back.
    await say(alice, '#secret-plans', 'bob must not read this');
    await message(carol, 'bob must not read this').or(carol.getByRole('navigation').getByRole('button', { name: /#secret-plans 1 unread/ })).first().waitFor(WAIT);
    await bob.reload();
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    expect(await bob.getByRole('navigation').getByRole('button', { name: '#secret-plans' }).count()).toBe(0);
    expect(await bob.getByText('bob must not read this').count()).toBe(0);
  }, 60_000);

  it('lets the owner change the title and who may post; others see it', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await alice.getByRole('button', { name: 'Channel settings' }).click();
    const settings = alice.getByRole('dialog', { name: 'Settings of #general' });
    await settings.getByLabel('Title').fill('Company-wide announcements');
    await settings.getByLabel('Topic').fill('News for everyone, from the app');
    await settings.getByLabel('Who may post').selectOption('server');
    await screenshot(alice, 'channel-settings');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.waitFor({ state: 'detached', ...WAIT });
    await bob.getByText('Company-wide announcements').waitFor(WAIT);
    await bob.locator('.channel-header').getByText('News for everyone, from the app').waitFor(WAIT);
    await bob.getByText('Only the app posts announcements in #general.').waitFor(WAIT);
    // Bob is not the owner: no settings to change, only leaving.
    await bob.getByRole('button', { name: 'Channel settings' }).click();
    await bob.getByRole('dialog', { name: 'Settings of #general' }).getByText("Only the channel's owners and admins change its settings.").waitFor(WAIT);
  });
});
