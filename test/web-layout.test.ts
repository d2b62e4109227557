import { describe, expect, it } from 'vitest';
import {
  chromiumMissing,
  composer,
  expectNoPageScroll,
  inView,
  message,
  openChannel,
  PHONE,
  say,
  screenshot,
  seed,
  signIn,
  startWebServer,
  useBrowser,
  WAIT,
} from './web-harness.js';

describe.skipIf(chromiumMissing('the web app layout tests'))('web app: layout, scrolling, first run', () => {
  const browser = useBrowser();

  it('gives the first user a general channel with a hint, and remembers the last open channel', async () => {
    const server = await startWebServer();
    const ann = await signIn(browser(), server.url, 'ann');
    const { page } = ann;
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await page.getByRole('heading', { name: 'Welcome to Switchboard, ann!' }).waitFor(WAIT);
    await screenshot(page, 'first-run');

    // A second person lands in general too, without doing anything.
    const ben = await signIn(browser(), server.url, 'ben');
    await ben.page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await say(ben.page, '#general', 'hi ann');
    await message(page, 'hi ann').waitFor(WAIT);

    // Ann makes a second channel; a reload opens it again, not the alphabetically first.
    await page.getByRole('button', { name: 'Browse channels' }).first().click();
    await page.getByLabel('Channel name').fill('zebra');
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByRole('heading', { level: 1, name: '#zebra' }).waitFor(WAIT);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '#zebra' }).waitFor(WAIT);
    expect(await page.getByRole('navigation').getByRole('button', { name: '#zebra' }).getAttribute('aria-current')).toBe('page');
  });

  it('keeps the page still with 200 messages: the list scrolls, loads older pages in place, and jumps to latest', async () => {
    const server = await startWebServer();
    const writer = await server.client('writer');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await seed(writer, 'general', 200, (i) => `message number ${i}`);
    const { page } = await signIn(browser(), server.url, 'reader');
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    const newest = message(page, /^writer.*message number 200$/).or(message(page, 'message number 200'));
    await newest.first().waitFor(WAIT);

    // The newest message and the composer are on screen, and the page itself does not scroll.
    await expectNoPageScroll(page);
    expect(await inView(page, message(page, 'message number 200').first())).toBe(true);
    expect(await inView(page, composer(page, '#general'))).toBe(true);
    expect(await inView(page, page.getByRole('heading', { level: 1, name: '#general' }))).toBe(true);
    await screenshot(page, 'desktop');

    // Scrolling up loads older pages by itself, and what was on screen stays where it was.
    const feed = page.getByRole('feed');
    const oldestInPage = () =>
      feed.evaluate((el) => Math.min(...[...el.querySelectorAll('article[data-seq]')].map((a) => Number(a.getAttribute('data-seq')))));
    const firstLoaded = await oldestInPage();
    // Move up in steps (no page is due yet, rows on the way get rendered and measured) ...
    while ((await feed.evaluate((el) => el.scrollTop)) > 1700) {
      await feed.evaluate((el) => (el.scrollTop -= 500));
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    }
    // ... then close enough to the top for the next page to load, noting what is on top.
    const seen = await feed.evaluate((el) => {
      el.scrollTop = 1150;
      const top = el.getBoundingClientRect().top;
      const first = [...el.querySelectorAll('article[data-seq]')].find((a) => a.getBoundingClientRect().bottom > top)!;
      return { seq: first.getAttribute('data-seq')!, top: first.getBoundingClientRect().top };
    });
    await expect.poll(oldestInPage, WAIT).toBeLessThan(firstLoaded);
    await expect.poll(() => feed.getAttribute('aria-busy'), WAIT).toBe('false');
    const kept = feed.locator(`article[data-seq="${seen.seq}"]`);
    expect(Math.abs((await kept.evaluate((el) => el.getBoundingClientRect().top)) - seen.top)).toBeLessThan(2);
    // Reaching the very first message shows the start of the channel.
    for (let i = 0; i < 10 && !(await page.getByText('This is the very beginning of #general.').count()); i++) {
      await feed.evaluate((el) => (el.scrollTop = 0));
      await expect.poll(() => page.getByRole('feed').getAttribute('aria-busy'), WAIT).toBe('false');
    }
    await page.getByText('This is the very beginning of #general.').waitFor(WAIT);
    await message(page, 'message number 1').first().waitFor(WAIT);
    await expectNoPageScroll(page);

    // Scrolled up, "Jump to latest" takes you back down; a new message then shows at once.
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    await expect.poll(() => inView(page, message(page, 'message number 200').first()), WAIT).toBe(true);
    await expect(page.getByRole('button', { name: 'Jump to latest' }).count()).resolves.toBe(0);
    await writer.publish('general', 'fresh one');
    await expect.poll(() => inView(page, message(page, 'fresh one').first()), WAIT).toBe(true);
  });

  it('stays windowed with 10,000 messages: a bounded number of rows in the page while paging back', async () => {
    const server = await startWebServer();
    const writer = await server.client('writer');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await seed(writer, 'general', 10_000, (i) => `long channel message ${i}`);
    const { page } = await signIn(browser(), server.url, 'reader');
    await message(page, 'long channel message 10000').first().waitFor(WAIT);
    const feed = page.getByRole('feed');
    // Page back past message 9000 (20 pages of 50), counting the rendered rows after every
    // page. A scroll to the top may load one page or two (the list keeps 1,200 px loaded
    // above the view) and the rows rendered are those around the view, so the loop goes by
    // the oldest row rendered, not by finding one message, and stops at a deadline rather
    // than after a number of scrolls. A page that failed to load (a loaded machine) offers
    // a Retry, as it would to a reader.
    const deadline = Date.now() + 90_000;
    const retry = page.getByRole('button', { name: 'Retry' });
    const renderedCounts: number[] = [];
    let oldest = Number.POSITIVE_INFINITY;
    while (oldest > 9000 && Date.now() < deadline) {
      if ((await retry.count()) > 0) await retry.click();
      await feed.evaluate((el) => (el.scrollTop = 0));
      await expect.poll(() => feed.getAttribute('aria-busy'), WAIT).toBe('false');
      const seen = await feed.evaluate((el) => {
        const articles = [...el.querySelectorAll('article[data-seq]')];
        return { oldest: Math.min(...articles.map((a) => Number(a.getAttribute('data-seq')))), rendered: articles.length };
      });
      oldest = seen.oldest;
      renderedCounts.push(seen.rendered);
    }
    expect(oldest, `paging back stopped at seq ${oldest} after ${renderedCounts.length} scrolls`).toBeLessThanOrEqual(9000);
    // Windowed all the way: never the 1,000+ rows loaded, never an empty page.
    expect(Math.min(...renderedCounts)).toBeGreaterThan(10);
    expect(Math.max(...renderedCounts)).toBeLessThan(150);
    await expectNoPageScroll(page);
  }, 120_000);

  it('opens a channel at the first unread message with a divider, and switches channels with Ctrl+K', async () => {
    const server = await startWebServer();
    const writer = await server.client('writer');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await writer.createChannel({ channel: 'news', type: 'public' });
    await seed(writer, 'news', 120, (i) => `old news ${i}`);
    const reader = await server.client('reader');
    await reader.joinChannel('general');
    await reader.joinChannel('news');
    await reader.chat.markRead('news', 120);
    await reader.close();
    await seed(writer, 'news', 80, (i) => `fresh news ${i}`);

    const { page } = await signIn(browser(), server.url, 'reader');
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await page.getByRole('navigation').getByRole('button', { name: '#news 80 unread' }).waitFor(WAIT);

    await page.keyboard.press('Control+k');
    await page.getByLabel('Go to channel').fill('new');
    await page.getByLabel('Go to channel').press('Enter');
    await page.getByRole('heading', { level: 1, name: '#news' }).waitFor(WAIT);
    const divider = page.getByText('New messages', { exact: true });
    await divider.waitFor(WAIT);
    await expect.poll(() => inView(page, divider), WAIT).toBe(true);
    await expect.poll(() => inView(page, message(page, 'fresh news 1').first()), WAIT).toBe(true);
    // The newest is further down (and, the list being windowed, not even in the page).
    const last = message(page, 'fresh news 80');
    expect((await last.count()) === 0 || !(await inView(page, last.first()))).toBe(true);
    // Unread: the badge is gone once opened.
    await expect.poll(() => page.getByRole('navigation').getByRole('button', { name: '#news' }).textContent()).toBe('#news');
  });

  it('on a phone: the sidebar is a drawer, the newest message and the composer are on screen', async () => {
    const server = await startWebServer();
    const writer = await server.client('writer');
    await writer.createChannel({ channel: 'general', type: 'public' });
    await writer.createChannel({ channel: 'random', type: 'public' });
    await seed(writer, 'general', 60, (i) => `phone message ${i} with some words to wrap on a narrow screen`);
    const { page } = await signIn(browser(), server.url, 'pat', { viewport: PHONE });
    await message(page, 'phone message 60 ').first().waitFor(WAIT);
    await expectNoPageScroll(page);
    expect(await inView(page, message(page, 'phone message 60 ').first())).toBe(true);
    expect(await inView(page, composer(page, '#general'))).toBe(true);
    // The channel list is hidden until the menu opens it.
    const nav = page.getByRole('navigation');
    await expect(nav.isVisible()).resolves.toBe(false);
    await screenshot(page, 'phone');
    await page.getByRole('button', { name: 'Show channels' }).click();
    await nav.getByRole('button', { name: 'Browse channels' }).first().waitFor(WAIT);
    await screenshot(page, 'phone-drawer');
    await nav.getByRole('button', { name: 'Browse channels' }).first().click();
    await page.getByRole('button', { name: 'Join #random' }).click();
    await page.getByRole('heading', { level: 1, name: '#random' }).waitFor(WAIT);
    await expect(nav.isVisible()).resolves.toBe(false);
    await say(page, '#random', 'from my phone');
    await message(page, 'from my phone').waitFor(WAIT);
    await openChannelFromDrawer(page, '#general');
  });
});

async function openChannelFromDrawer(page: import('playwright-core').Page, label: string) {
  await page.getByRole('button', { name: 'Show channels' }).click();
  await openChannel(page, label);
}
