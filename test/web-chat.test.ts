import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumMissing, composer, inView, message, openChannel, PHONE, say, screenshot, seed, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

/**
 * In the page: records the browser notifications shown (`window.shown`) and lets the
 * test say when the tab is hidden (`window.hidden`).
 */
function fakeNotifications(): void {
  const shown: string[] = [];
  const w = window as unknown as { shown: string[]; hidden: boolean; Notification: unknown };
  w.shown = shown;
  w.hidden = false;
  Object.defineProperty(document, 'hidden', { get: () => w.hidden });
  class FakeNotification {
    static permission = 'default';
    static requestPermission = async () => (FakeNotification.permission = 'granted');
    onclick: (() => void) | null = null;
    constructor(title: string) {
      shown.push(title);
    }
    close() {}
  }
  w.Notification = FakeNotification;
}

const notificationsShown = (page: Page) => page.evaluate(() => (window as unknown as { shown: string[] }).shown);
const hideTab = (page: Page, hidden: boolean) =>
  page.evaluate((value) => ((window as unknown as { hidden: boolean }).hidden = value), hidden);

/** Hover actions live in each message's toolbar. */
async function act(page: Page, text: string, action: string): Promise<void> {
  const row = message(page, text).first();
  await row.hover();
  await row.getByRole('button', { name: action }).click();
}

type WireFrame = { type: string; id?: number; after?: number; text?: string };

/**
 * Routes the page's WebSocket through the test and holds back the reply to its first
 * forward page (`history` with `after`): `read` resolves once the server answered it (the
 * page was read), and the reply goes on once `releaseWhen` returns true for a frame from
 * the server (sent just after it), or `release()` is called. `forwardAfterRelease()` counts
 * forward pages asked for after the release.
 */
async function holdForwardPage(page: Page, releaseWhen: (frame: WireFrame) => boolean = () => false) {
  let pageRead: () => void;
  const read = new Promise<void>((resolve) => (pageRead = resolve));
  let release: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let isReleased = false;
  void released.then(() => (isReleased = true));
  let later = 0;
  await page.routeWebSocket(/\/ws/, (socket) => {
    const upstream = socket.connectToServer();
    let held: number | null = null;
    socket.onMessage((data) => {
      const frame = JSON.parse(String(data)) as WireFrame;
      if (frame.type === 'history' && frame.after !== undefined) {
        if (held === null) held = frame.id ?? null;
        else if (isReleased) later++;
      }
      upstream.send(data);
    });
    upstream.onMessage((data) => {
      const frame = JSON.parse(String(data)) as WireFrame;
      if (frame.type === 'ok' && frame.id === held) {
        pageRead();
        void released.then(() => socket.send(data));
        return;
      }
      socket.send(data);
      if (releaseWhen(frame)) release();
    });
  });
  return { read, release: () => release(), forwardAfterRelease: () => later };
}

describe.skipIf(chromiumMissing('the web app chat tests'))('web app: messages, reactions, threads, mentions', () => {
  const browser = useBrowser();

  it('renders a safe markdown subset, groups messages, and edits with the keyboard', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);

    await say(alice, '#general', '**bold** and _soft_ `code` <img src=x onerror="window.pwned=1"> [docs](https://example.com/docs)');
    const rendered = message(bob, 'bold and soft code');
    await rendered.waitFor(WAIT);
    expect(await rendered.locator('strong').textContent()).toBe('bold');
    expect(await rendered.locator('em').textContent()).toBe('soft');
    expect(await rendered.locator('code').textContent()).toBe('code');
    expect(await rendered.getByRole('link', { name: 'docs' }).getAttribute('href')).toBe('https://example.com/docs');
    expect(await rendered.locator('img').count()).toBe(0);
    expect(await rendered.textContent()).toContain('<img src=x onerror="window.pwned=1">');
    expect(await bob.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    await say(alice, '#general', '```\nconst x = 1;\n```');
    await say(alice, '#general', '> a quoted line');
    await message(bob, 'a quoted line').locator('blockquote').waitFor(WAIT);
    expect(await message(bob, 'const x = 1;').locator('pre code').textContent()).toBe('const x = 1;');
    // Three messages in a row by alice: one name and avatar for the group.
    expect(await bob.getByRole('feed').getByRole('button', { name: 'alice', exact: true }).count()).toBe(1);
    expect(await bob.getByRole('feed').getByText('Today', { exact: true }).count()).toBe(1);

    // Up edits your last message; Escape cancels; an empty edit is refused; Enter saves.
    await composer(alice, '#general').press('ArrowUp');
    const edit = alice.getByRole('textbox', { name: 'Edit message' });
    expect(await edit.inputValue()).toBe('> a quoted line');
    await edit.press('Escape');
    await edit.waitFor({ state: 'detached', ...WAIT });
    await composer(alice, '#general').press('ArrowUp');
    await edit.fill('   ');
    await edit.press('Enter');
    await alice.getByRole('alert').filter({ hasText: 'A message cannot be empty' }).waitFor(WAIT);
    await edit.fill('> a quoted line, edited');
    await edit.press('Enter');
    await message(bob, 'a quoted line, edited').getByText('(edited)').waitFor(WAIT);

    // Shift+Enter makes a new line, Enter sends.
    await composer(alice, '#general').fill('first line');
    await composer(alice, '#general').press('Shift+Enter');
    await composer(alice, '#general').pressSequentially('second line');
    await composer(alice, '#general').press('Enter');
    await message(bob, 'second line').waitFor(WAIT);
    expect(await message(bob, 'second line').locator('.md-text').textContent()).toBe('first line\nsecond line');

    // Delete asks first; cancelling keeps the message.
    await act(alice, 'second line', 'Delete message');
    await alice.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Cancel' }).click();
    expect(await message(alice, 'second line').count()).toBe(1);
    await act(alice, 'second line', 'Delete message');
    await alice.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Delete' }).click();
    await message(bob, 'This message was deleted.').waitFor(WAIT);
    expect(await message(bob, 'second line').count()).toBe(0);

    // Typing shows to the others.
    await composer(bob, '#general').pressSequentially('hello');
    await alice.getByText('bob is typing…').waitFor(WAIT);

    // Copy link gives a link to the message.
    await act(alice, 'bold and soft code', 'Copy link');
    await alice.getByRole('status').filter({ hasText: /Link/ }).waitFor(WAIT);
  });

  it('reacts with a picker and shows who reacted; threads in a side panel with a reply count', async () => {
    const server = await startWebServer();
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await say(alice, '#general', 'shall we ship on friday?');
    await message(bob, 'shall we ship on friday?').waitFor(WAIT);

    await act(bob, 'shall we ship on friday?', 'Add reaction');
    await bob.getByRole('dialog', { name: 'Pick a reaction' }).getByRole('button', { name: 'React with thumbs up' }).click();
    await message(alice, 'shall we ship').getByRole('button', { name: '👍 1: bob' }).waitFor(WAIT);
    // Alice adds hers by clicking the count; bob sees both names.
    await message(alice, 'shall we ship').getByRole('button', { name: '👍 1: bob' }).click();
    await message(bob, 'shall we ship').getByRole('button', { name: '👍 2: you, alice' }).waitFor(WAIT);
    expect(await message(bob, 'shall we ship').getByRole('button', { name: /^👍 2/ }).getAttribute('aria-pressed')).toBe('true');
    // Bob takes his back.
    await message(bob, 'shall we ship').getByRole('button', { name: /^👍 2/ }).click();
    await message(alice, 'shall we ship').getByRole('button', { name: '👍 1: you' }).waitFor(WAIT);

    // A thread: bob replies in the side panel; the root shows the count and the last reply.
    await act(bob, 'shall we ship on friday?', 'Reply in thread');
    const panel = bob.getByRole('complementary', { name: 'Thread' });
    await panel.waitFor(WAIT);
    await panel.getByLabel('Reply in thread').fill('friday works for me');
    await panel.getByLabel('Reply in thread').press('Enter');
    await panel.getByText('friday works for me').waitFor(WAIT);
    const summary = message(alice, 'shall we ship').getByRole('button', { name: /1 reply/ });
    await summary.waitFor(WAIT);
    expect(await summary.textContent()).toContain('Last reply just now');
    // Replies live in the thread, not in the channel.
    expect(await message(alice, 'friday works for me').count()).toBe(0);
    await summary.click();
    const alicePanel = alice.getByRole('complementary', { name: 'Thread' });
    await alicePanel.getByText('friday works for me').waitFor(WAIT);
    await alicePanel.getByLabel('Reply in thread').fill('great, friday it is');
    await alicePanel.getByLabel('Reply in thread').press('Enter');
    await panel.getByText('great, friday it is').waitFor(WAIT);
    await message(bob, 'shall we ship').getByRole('button', { name: /2 replies/ }).waitFor(WAIT);
    await screenshot(bob, 'thread');
    await alice.getByRole('button', { name: 'Close thread' }).click();
    await alicePanel.waitFor({ state: 'detached', ...WAIT });
  });

  it('completes @names, highlights mentions, lists them, and jumps to the message', async () => {
    const server = await startWebServer();
    const writer = await server.client('carol');
    await writer.createChannel({ channel: 'general', type: 'public' });
    const alice = (await signIn(browser(), server.url, 'alice', { init: fakeNotifications })).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await alice.getByRole('button', { name: 'Enable notifications' }).click();
    for (let i = 1; i <= 60; i++) await writer.publish('general', `filler ${i}`);
    await message(alice, 'filler 60').waitFor(WAIT);

    await composer(bob, '#general').pressSequentially('look @al');
    const option = bob.getByRole('option', { name: 'alice' });
    await option.waitFor(WAIT);
    await composer(bob, '#general').press('Enter');
    expect(await composer(bob, '#general').inputValue()).toBe('look @alice ');
    await composer(bob, '#general').pressSequentially('at the deploy log');
    await hideTab(alice, true);
    await composer(bob, '#general').press('Enter');
    await expect.poll(() => notificationsShown(alice), WAIT).toEqual(['bob mentioned you in #general']);
    await hideTab(alice, false);

    const mentioned = message(alice, 'look @alice at the deploy log');
    await mentioned.waitFor(WAIT);
    expect(await mentioned.getAttribute('class')).toContain('mentions-me');
    expect(await mentioned.locator('.mention-me').textContent()).toBe('@alice');
    await alice.getByRole('navigation').getByRole('button', { name: /Mentions 1 unread/ }).waitFor(WAIT);

    // Scroll away, then jump from the mentions view.
    for (let i = 61; i <= 120; i++) await writer.publish('general', `filler ${i}`);
    await message(alice, 'filler 120').waitFor(WAIT);
    await alice.getByRole('navigation').getByRole('button', { name: /Mentions/ }).click();
    const panel = alice.getByRole('complementary', { name: 'Mentions' });
    await panel.getByRole('button', { name: /bob in #general/ }).click();
    await expect.poll(() => inView(alice, mentioned), WAIT).toBe(true);
    expect(await mentioned.getAttribute('class')).toContain('highlighted');
    await alice.getByRole('navigation').getByRole('button', { name: 'Mentions', exact: true }).waitFor(WAIT);
    await screenshot(alice, 'mentions');
  });

  it('keeps what is typed right after completing a name after the name', async () => {
    const server = await startWebServer();
    await signIn(browser(), server.url, 'alice');
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await composer(bob, '#general').pressSequentially('look @al');
    await bob.getByRole('option', { name: 'alice' }).waitFor(WAIT);
    // Enter completes the name, and "at" is typed before the next frame (a fast typist, a busy
    // page): the caret must already be after the name.
    await composer(bob, '#general').evaluate(async (element) => {
      element.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      document.execCommand('insertText', false, 'at');
    });
    await composer(bob, '#general').pressSequentially(' the deploy log');
    expect(await composer(bob, '#general').inputValue()).toBe('look @alice at the deploy log');
  });

  it('searches with context and jumps to the result in its channel', async () => {
    const server = await startWebServer();
    const writer = await server.client('carol');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await writer.createChannel({ channel: 'budget', type: 'public' });
    await writer.publish('budget', 'the banana budget is approved');
    for (let i = 1; i <= 150; i++) await writer.publish('budget', `budget line ${i}`);
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);

    await alice.getByRole('button', { name: 'Search', exact: true }).first().click();
    await alice.getByLabel('Search messages').fill('banana');
    await alice.getByLabel('Search messages').press('Enter');
    const result = alice.getByRole('complementary', { name: 'Search' }).getByRole('button', { name: /#budget · carol/ });
    await result.waitFor(WAIT);
    expect(await result.locator('mark').textContent()).toBe('banana');
    await screenshot(alice, 'search');
    await result.click();
    await alice.getByRole('heading', { level: 1, name: '#budget' }).waitFor(WAIT);
    const target = message(alice, 'the banana budget is approved');
    await expect.poll(() => inView(alice, target), WAIT).toBe(true);
    expect(await target.getAttribute('class')).toContain('highlighted');
    // The window around it pages forward to the newest.
    await alice.getByRole('button', { name: 'Jump to latest' }).click();
    await expect.poll(() => inView(alice, message(alice, 'budget line 150')), WAIT).toBe(true);

    // A copied link opens the channel at that message, in a new tab too.
    const tab = await alice.context().newPage();
    await tab.goto(`${server.url}/#c=budget&m=1`);
    const linked = message(tab, 'the banana budget is approved');
    await expect.poll(() => inView(tab, linked), WAIT).toBe(true);
    expect(await linked.getAttribute('class')).toContain('highlighted');
  });

  /** #general with `count` messages by carol (`history line N`), and alice signed in on it. */
  async function historyChannel(count: number) {
    const server = await startWebServer();
    const writer = await server.client('carol');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await seed(writer, 'general', count, (i) => `history line ${i}`);
    const alice = (await signIn(browser(), server.url, 'alice')).page;
    await alice.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    return { server, writer, alice };
  }

  it('keeps a message that arrives while the page after the window is on its way', async () => {
    const { server, writer, alice } = await historyChannel(120);

    // A new tab opened at the first message pages forward to the newest. The page after the
    // window is read before "just in" is stored and reaches the tab after it (held here).
    const tab = await alice.context().newPage();
    const forward = await holdForwardPage(tab, (frame) => frame.type === 'event' && frame.text === 'just in');
    await tab.goto(`${server.url}/#c=general&m=1`);
    await message(tab, /history line 1$/).waitFor(WAIT);
    await tab.getByRole('feed').evaluate((feed) => feed.scrollTo(0, feed.scrollHeight));
    await forward.read;
    await writer.publish('general', 'just in');
    // The window reaches the newest message: "just in" is at its end.
    await expect
      .poll(async () => {
        await tab.getByRole('feed').evaluate((feed) => feed.scrollTo(0, feed.scrollHeight));
        return tab.getByRole('feed').getByRole('article').last().textContent();
      }, WAIT)
      .toContain('just in');
  });

  it('drops a page after the window that lands once "Jump to latest" replaced the window', async () => {
    const { server, writer, alice } = await historyChannel(300);

    // A tab opened at the first message pages forward; that page's reply is held until the
    // reader has jumped to the newest page. Merged into it, the page would leave a gap of
    // 124 messages and a window that says newer ones follow.
    const tab = await alice.context().newPage();
    const forward = await holdForwardPage(tab);
    await tab.goto(`${server.url}/#c=general&m=1`);
    await message(tab, /history line 1$/).waitFor(WAIT);
    await tab.getByRole('feed').evaluate((feed) => feed.scrollTo(0, feed.scrollHeight));
    await forward.read;
    await tab.getByRole('button', { name: 'Jump to latest' }).click();
    await message(tab, 'history line 300').waitFor(WAIT);
    forward.release();
    // A live message comes after the held page: once it shows, the page was dealt with.
    await writer.publish('general', 'after the jump');
    await message(tab, 'after the jump').waitFor(WAIT);
    expect(forward.forwardAfterRelease()).toBe(0);
  });

  it('clears the unread count of the channel you read once its window reaches the newest message', async () => {
    const { server, writer, alice } = await historyChannel(300);
    // A tab opened at the first message: messages that come now are below its window, unread.
    const tab = await alice.context().newPage();
    await tab.goto(`${server.url}/#c=general&m=1`);
    await message(tab, /history line 1$/).waitFor(WAIT);
    await writer.publish('general', 'new one');
    await writer.publish('general', 'new two');
    const badge = tab.getByRole('navigation').getByRole('button', { name: /#general \d+ unread/ });
    await badge.waitFor(WAIT);
    await tab.getByRole('button', { name: 'Jump to latest' }).click();
    await message(tab, 'new two').waitFor(WAIT);
    await expect.poll(() => badge.count(), WAIT).toBe(0);
  });

  it('DMs and group DMs with read receipts, status with last seen, a profile card, and notifications when hidden', async () => {
    const server = await startWebServer();
    const alice = (
      await signIn(browser(), server.url, 'alice', { init: fakeNotifications })
    ).page;
    const bobPerson = await signIn(browser(), server.url, 'bob');
    const bob = bobPerson.page;
    const carol = (await signIn(browser(), server.url, 'carol', { viewport: PHONE })).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await say(bob, '#general', 'morning all');

    // Notifications are asked for once.
    await alice.getByRole('button', { name: 'Enable notifications' }).click();
    await alice.getByRole('button', { name: 'Enable notifications' }).waitFor({ state: 'detached', ...WAIT });

    // From bob's name: his profile card, with a button to message him.
    await message(alice, 'morning all').getByRole('button', { name: 'bob', exact: true }).click();
    const card = alice.getByRole('dialog', { name: 'Profile of bob' });
    await card.getByText('Online').waitFor(WAIT);
    await card.getByRole('button', { name: 'Send a message' }).click();
    await alice.getByRole('heading', { level: 1, name: '@bob' }).waitFor(WAIT);
    await say(alice, '@bob', 'are you free for lunch?');
    await bob.getByRole('navigation').getByRole('button', { name: '@alice 1 unread' }).waitFor(WAIT);
    await openChannel(bob, '@alice');
    await message(bob, 'are you free for lunch?').waitFor(WAIT);
    // Read receipts: "seen by" under alice's last message.
    await message(alice, 'are you free for lunch?').getByText('Seen by bob').waitFor(WAIT);
    await screenshot(alice, 'direct-message');

    // A DM while alice's tab is hidden makes a notification.
    await hideTab(alice, true);
    await say(bob, '@alice', 'yes, 12:30?');
    await expect.poll(() => notificationsShown(alice), WAIT).toEqual(['bob (direct message)']);
    await hideTab(alice, false);

    // A group DM with bob and carol.
    await alice.getByRole('button', { name: 'New direct message' }).click();
    const picker = alice.getByRole('dialog', { name: 'New direct message' });
    await picker.getByRole('checkbox', { name: /bob/ }).check();
    await picker.getByLabel('Or type user names').fill('carol');
    await picker.getByRole('button', { name: 'Start conversation' }).click();
    // Typed while the dialog is up, the text would go nowhere: the page behind a modal is inert.
    await picker.waitFor({ state: 'detached', ...WAIT });
    await alice.getByRole('heading', { level: 1, name: '@bob, @carol' }).waitFor(WAIT);
    await say(alice, '@bob, @carol', 'planning the offsite');
    await carol.getByRole('button', { name: 'Show channels' }).click();
    // The DM reaches carol's sidebar through her channels list, its unread count through her
    // subscription to it: wait for each on its own, so a slow second step says which it was.
    const groupDm = carol.getByRole('navigation').getByRole('button', { name: /^@alice, @bob/ });
    await groupDm.waitFor(WAIT);
    await groupDm.getByLabel('1 unread').waitFor(WAIT);
    await groupDm.click();
    await message(carol, 'planning the offsite').waitFor(WAIT);
    await screenshot(carol, 'phone-direct-message');

    // Status: bob goes away, then offline; alice sees it with a last-seen time.
    await bob.getByRole('button', { name: /^Your profile: bob/ }).click();
    await bob.getByRole('dialog', { name: 'Profile of bob' }).getByRole('button', { name: 'Set yourself away' }).click();
    await alice.getByRole('navigation').getByRole('button', { name: '@bob' }).locator('.status-dot.away').waitFor(WAIT);
    await bobPerson.context.close();
    await alice.getByRole('navigation').getByRole('button', { name: '@bob' }).locator('.status-dot.offline').waitFor(WAIT);
    await openChannel(alice, '#general');
    await message(alice, 'morning all').getByRole('button', { name: 'bob', exact: true }).click();
    await alice.getByRole('dialog', { name: 'Profile of bob' }).getByText('Offline, last seen just now').waitFor(WAIT);
    await screenshot(alice, 'profile-card');
  });
});
