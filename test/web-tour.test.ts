import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumMissing, expectNoPageScroll, inView, message, PHONE, screenshot, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

/**
 * A realistic team conversation, walked screen by screen at desktop and phone sizes. With
 * SWITCHBOARD_SCREENSHOTS=1 it writes the pictures of docs/web-app.md and the README.
 */
const CONVERSATION: readonly (readonly [string, string])[] = [
  ['maya', 'Morning! Release **2.4** goes out today. Checklist is in the wiki.'],
  ['leo', 'I will take the database migration. Running it on staging first.'],
  ['maya', 'Thanks @leo. Remember `--dry-run` on the first pass.'],
  ['sam', 'Front-end build is green ✅'],
  ['sam', 'Screenshots for the changelog: https://example.com/changelog/2.4'],
  ['leo', 'Staging migration done in 42 s, no locks held.'],
  ['maya', '> no locks held\nThat is the best news this week.'],
  ['priya', 'Support here: two customers asked about the new export. Do we have docs?'],
  ['sam', 'Docs PR is open, needs one review. @priya can you read it for tone?'],
  ['priya', 'On it.'],
];

async function hoverAway(page: Page) {
  await page.mouse.move(0, page.viewportSize()!.height - 1);
}

describe.skipIf(chromiumMissing('the web app tour'))('web app: a tour of a working team', () => {
  const browser = useBrowser();

  it('shows a busy channel with reactions, a thread, mentions and status, at desktop and phone sizes', async () => {
    const server = await startWebServer();
    const clients = Object.fromEntries(
      await Promise.all(['maya', 'leo', 'sam', 'priya', 'alex'].map(async (user) => [user, await server.client(user)] as const)),
    );
    await clients.maya!.createChannel({ channel: 'general', type: 'public', title: 'Everyone, everything' });
    await clients.maya!.createChannel({
      channel: 'releases',
      type: 'public',
      title: 'Release train: one a week',
      topic: 'Thursday 14:00 cut-off; hotfixes any time with a second reviewer',
    });
    await clients.maya!.createChannel({ channel: 'support', type: 'private', members: ['priya', 'sam', 'alex'] });
    for (const user of ['leo', 'sam', 'priya']) {
      await clients[user]!.joinChannel('general');
      await clients[user]!.joinChannel('releases');
    }
    // Earlier history, so the list has somewhere to scroll.
    for (let i = 1; i <= 40; i++) {
      const author = ['maya', 'leo', 'sam', 'priya'][i % 4]!;
      await clients[author]!.publish('releases', `Release 2.3 note ${i}: ${['fixed a flaky test', 'bumped a dependency', 'faster startup', 'clearer error message'][i % 4]}`);
    }
    const seqs: number[] = [];
    for (const [user, text] of CONVERSATION) seqs.push((await clients[user]!.publish('releases', text)).seq);
    await clients.leo!.chat.react('releases', seqs[3]!, '🎉');
    await clients.priya!.chat.react('releases', seqs[3]!, '🎉');
    await clients.maya!.chat.react('releases', seqs[5]!, '🚀');
    await clients.leo!.publish('releases', { text: 'Production migration starts at 14:00.', replyTo: seqs[1]! });
    await clients.maya!.publish('releases', { text: 'I will watch the dashboards.', replyTo: seqs[1]! });
    await clients.sam!.publish('support', 'Ticket #4312 is waiting on a reply from engineering.');
    await clients.priya!.chat.setStatus('away');
    await clients.alex!.close();

    const alex = (await signIn(browser(), server.url, 'alex')).page;
    await alex.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await alex.getByRole('button', { name: 'Not now' }).click();
    await alex.getByRole('button', { name: 'Browse channels' }).first().click();
    await alex.getByRole('button', { name: 'Join #releases' }).click();
    await alex.getByRole('heading', { level: 1, name: '#releases' }).waitFor(WAIT);
    await alex.locator('.channel-header').getByText('Thursday 14:00 cut-off').waitFor(WAIT);
    const last = message(alex, 'On it.');
    await last.waitFor(WAIT);
    await message(alex, 'Front-end build is green').getByRole('button', { name: /🎉 2/ }).waitFor(WAIT);
    await message(alex, 'I will take the database migration').getByRole('button', { name: /2 replies/ }).waitFor(WAIT);
    await clients.sam!.publish('releases', '@alex welcome to the team! Ask anything here.');
    await message(alex, 'welcome to the team').waitFor(WAIT);
    await expectNoPageScroll(alex);
    expect(await inView(alex, message(alex, 'welcome to the team'))).toBe(true);
    expect(await alex.getByRole('feed').evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
    await hoverAway(alex);
    await screenshot(alex, 'tour-channel');

    await message(alex, 'Front-end build is green').hover();
    await screenshot(alex, 'tour-hover-actions');

    await message(alex, 'I will take the database migration').getByRole('button', { name: /2 replies/ }).click();
    await alex.getByRole('complementary', { name: 'Thread' }).getByText('I will watch the dashboards.').waitFor(WAIT);
    await hoverAway(alex);
    await screenshot(alex, 'tour-thread');

    await alex.getByRole('navigation').getByRole('button', { name: /Mentions/ }).click();
    await alex.getByRole('complementary', { name: 'Mentions' }).getByRole('button', { name: /sam in #releases/ }).waitFor(WAIT);
    await screenshot(alex, 'tour-mentions');

    await alex.getByRole('button', { name: 'Members' }).click();
    await alex.getByRole('complementary', { name: 'Members' }).getByText('5 members of #releases').waitFor(WAIT);
    await screenshot(alex, 'tour-members');
    await alex.getByRole('button', { name: 'Close members' }).click();

    // Priya read up to her own message: the rest opens below a "new messages" line.
    await clients.priya!.chat.markRead('releases', seqs[9]!);
    const phone = (await signIn(browser(), server.url, 'priya', { viewport: PHONE })).page;
    await phone.getByRole('button', { name: 'Show channels' }).click();
    await phone.getByRole('button', { name: 'Not now' }).click();
    await phone.getByRole('navigation').getByRole('button', { name: /#releases/ }).click();
    await message(phone, 'welcome to the team').waitFor(WAIT);
    await phone.getByText('New messages', { exact: true }).waitFor(WAIT);
    await expectNoPageScroll(phone);
    await hoverAway(phone);
    await screenshot(phone, 'tour-phone-channel');
    await phone.getByRole('button', { name: 'Show channels' }).click();
    await phone.getByRole('navigation').getByRole('button', { name: /#support/ }).waitFor(WAIT);
    await screenshot(phone, 'tour-phone-drawer');
    await phone.getByRole('navigation').getByRole('button', { name: /#releases/ }).click();
    await message(phone, 'I will take the database migration').getByRole('button', { name: /2 replies/ }).click();
    await phone.getByRole('complementary', { name: 'Thread' }).getByText('I will watch the dashboards.').waitFor(WAIT);
    await screenshot(phone, 'tour-phone-thread');
  }, 90_000);
});
