import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { directChannelId } from '../protocol/names.js';
import { chromiumMissing, connected, message, say, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

/**
 * Profiles in the page: a user's display name, picture and status text, wherever the app
 * shows that user (their messages, the member list, their profile card), changed live by
 * a `profile` push and read again after a reload; and someone the page first hears of
 * after it loaded shows their stored name, not their id.
 */

/** The `src` of the picture inside `scope`, or null while it shows initials. */
async function pictureOf(scope: ReturnType<Page['locator']>): Promise<string | null> {
  const images = scope.locator('img.avatar-image');
  return (await images.count()) === 0 ? null : images.first().getAttribute('src');
}

describe.skipIf(chromiumMissing('the web app profile tests'))('web app: user profiles', () => {
  const browser = useBrowser();

  it("shows another user's new name, picture and status text live on their messages, in the member list and on their card, and after a reload", async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    const bob = await server.client('bob');
    await bob.joinChannel('general');
    await bob.publish('general', 'hello from bob');
    const bobsMessage = message(alice, 'hello from bob');
    await bobsMessage.getByRole('button', { name: 'bob', exact: true }).waitFor(WAIT);
    expect(await pictureOf(bobsMessage)).toBeNull();
    await alice.getByRole('button', { name: 'Members' }).click();
    const members = alice.getByRole('complementary', { name: 'Members' });
    await members.getByText('2 members of #general').waitFor(WAIT);
    // Two members: bob's row is the one that is not alice's own.
    const bobInMembers = members.locator('.member-list li').filter({ hasNotText: '(you)' });
    await bobInMembers.getByRole('button', { name: /^bob\b/ }).waitFor(WAIT);

    const picture = `${server.url}/avatars/bob.png`;
    const stored = await bob.updateUser('bob', { name: 'Bob Builder', avatarUrl: picture, statusText: 'Up on the roof' });
    expect(stored.name).toBe('Bob Builder');

    // Live, without a reload: his message, the member list, his card.
    await bobsMessage.getByRole('button', { name: 'Bob Builder', exact: true }).waitFor(WAIT);
    await expect.poll(() => pictureOf(bobsMessage), WAIT).toBe(picture);
    await bobInMembers.getByRole('button', { name: /^Bob Builder\b/ }).waitFor(WAIT);
    await expect.poll(() => pictureOf(bobInMembers), WAIT).toBe(picture);
    await bobsMessage.getByRole('button', { name: 'Bob Builder', exact: true }).click();
    const card = alice.getByRole('dialog', { name: 'Profile of bob' });
    await card.getByText('Bob Builder', { exact: true }).waitFor(WAIT);
    await card.getByText('Up on the roof', { exact: true }).waitFor(WAIT);
    expect(await pictureOf(card)).toBe(picture);
    await card.getByRole('button', { name: 'Close' }).click();
    await card.waitFor({ state: 'detached', ...WAIT });

    // A second change while the page is open: the status text goes, the name changes again.
    await bob.updateUser('bob', { name: 'Robert', statusText: null });
    await bobsMessage.getByRole('button', { name: 'Robert', exact: true }).waitFor(WAIT);
    await bobsMessage.getByRole('button', { name: 'Robert', exact: true }).click();
    await card.getByText('Robert', { exact: true }).waitFor(WAIT);
    expect(await card.getByText('Up on the roof').count()).toBe(0);
    await card.getByRole('button', { name: 'Close' }).click();

    // After a reload, from what the server stored.
    await alice.reload();
    await connected(alice);
    await bobsMessage.getByRole('button', { name: 'Robert', exact: true }).waitFor(WAIT);
    await expect.poll(() => pictureOf(bobsMessage), WAIT).toBe(picture);
    await alice.getByRole('button', { name: 'Members' }).click();
    await members.locator('.member-list').getByRole('button', { name: /^Robert\b/ }).waitFor(WAIT);
    await bobsMessage.getByRole('button', { name: 'Robert', exact: true }).click();
    await card.getByText('Robert', { exact: true }).waitFor(WAIT);
    expect(await pictureOf(card)).toBe(picture);

    // The other places that name him: who is typing, and who has seen your message in a DM.
    await card.getByRole('button', { name: 'Send a message' }).click();
    await alice.getByRole('heading', { level: 1, name: '@bob' }).waitFor(WAIT);
    await say(alice, '@bob', 'lunch at noon?');
    const dm = directChannelId(['alice', 'bob']);
    const live = await bob.subscribe(dm, () => {});
    const [lunch] = (await bob.history(dm, { limit: 10 })).events.filter((e) => e.text === 'lunch at noon?');
    await bob.typing(dm);
    await alice.getByText('Robert is typing…').waitFor(WAIT);
    await bob.chat.markRead(dm, lunch!.seq);
    await message(alice, 'lunch at noon?').getByText('Seen by Robert').waitFor(WAIT);
    await live.unsubscribe();
  });

  it('shows the stored name of someone whose first message comes after the page loaded', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    // Carol names herself and joins only now: the page has never heard of her.
    const carol = await server.client('carol');
    await carol.updateUser('carol', { name: 'Carol Danvers', statusText: 'new here' });
    await carol.joinChannel('general');
    await carol.publish('general', 'hi, I am new');
    const carols = message(alice, 'hi, I am new');
    await carols.getByRole('button', { name: 'Carol Danvers', exact: true }).waitFor(WAIT);
    await carols.getByRole('button', { name: 'Carol Danvers', exact: true }).click();
    const card = alice.getByRole('dialog', { name: 'Profile of carol' });
    await card.getByText('new here', { exact: true }).waitFor(WAIT);
  });
});
