import { describe, expect, it } from 'vitest';
import { axeProblems as problems, chromiumMissing, DESKTOP, message, PHONE, say, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';


describe.skipIf(chromiumMissing('the web app accessibility check'))('web app: accessibility (axe-core)', () => {
  const browser = useBrowser();

  it('has no serious or critical violations on the main screens, desktop and phone', async () => {
    const server = await startWebServer();
    const context = await browser().newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(WAIT.timeout);
    const signInPage = await context.newPage();
    await signInPage.goto(server.url);
    await signInPage.getByLabel('Your name').waitFor(WAIT);
    const found: Record<string, string[]> = { 'sign in': await problems(signInPage) };
    await context.close();

    const alice = (await signIn(browser(), server.url, 'alice')).page;
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await say(bob, '#general', 'hello @alice, **welcome** to `switchboard`');
    await say(alice, '#general', 'thanks bob');
    await message(alice, 'hello @alice').waitFor(WAIT);
    await bob.getByRole('feed').getByRole('article').filter({ hasText: 'thanks bob' }).waitFor(WAIT);
    await bob.getByRole('feed').getByRole('article').filter({ hasText: 'thanks bob' }).hover();
    await bob.getByRole('button', { name: 'Add reaction' }).first().click();
    await bob.getByRole('button', { name: 'React with party' }).click();
    await message(alice, 'thanks bob').getByRole('button', { name: /🎉 1/ }).waitFor(WAIT);
    found['chat'] = await problems(alice);

    await message(alice, 'hello @alice').hover();
    await message(alice, 'hello @alice').getByRole('button', { name: 'Reply in thread' }).click();
    await alice.getByRole('complementary', { name: 'Thread' }).getByLabel('Reply in thread').fill('a reply');
    await alice.getByRole('complementary', { name: 'Thread' }).getByLabel('Reply in thread').press('Enter');
    await alice.getByRole('complementary', { name: 'Thread' }).getByText('a reply').waitFor(WAIT);
    found['thread'] = await problems(alice);

    await alice.getByRole('button', { name: 'Search', exact: true }).first().click();
    await alice.getByLabel('Search messages').fill('welcome');
    await alice.getByLabel('Search messages').press('Enter');
    await alice.getByRole('complementary', { name: 'Search' }).getByRole('button', { name: /#general · bob/ }).waitFor(WAIT);
    found['search'] = await problems(alice);

    await alice.getByRole('navigation').getByRole('button', { name: /Mentions/ }).click();
    await alice.getByRole('complementary', { name: 'Mentions' }).getByRole('button', { name: /bob in #general/ }).waitFor(WAIT);
    found['mentions'] = await problems(alice);

    await alice.getByRole('button', { name: 'Members' }).click();
    await alice.getByRole('complementary', { name: 'Members' }).getByText(/members? of #general/).waitFor(WAIT);
    found['members'] = await problems(alice);

    await alice.getByRole('button', { name: 'Browse channels' }).first().click();
    await alice.getByRole('dialog', { name: 'Browse channels' }).waitFor(WAIT);
    found['channel browser'] = await problems(alice);
    await alice.keyboard.press('Escape');

    await alice.getByRole('button', { name: 'Channel settings' }).click();
    await alice.getByRole('dialog', { name: 'Settings of #general' }).waitFor(WAIT);
    found['channel settings'] = await problems(alice);
    await alice.keyboard.press('Escape');

    await alice.keyboard.press('Control+k');
    await alice.getByLabel('Go to channel').waitFor(WAIT);
    found['switcher'] = await problems(alice);
    await alice.keyboard.press('Escape');

    const phone = (await signIn(browser(), server.url, 'pat', { viewport: PHONE })).page;
    await message(phone, 'thanks bob').waitFor(WAIT);
    found['phone chat'] = await problems(phone);
    await phone.getByRole('button', { name: 'Show channels' }).click();
    await phone.getByRole('navigation').getByRole('button', { name: 'Browse channels' }).first().waitFor(WAIT);
    found['phone drawer'] = await problems(phone);

    expect(found).toEqual({
      'sign in': [],
      chat: [],
      thread: [],
      search: [],
      mentions: [],
      members: [],
      'channel browser': [],
      'channel settings': [],
      switcher: [],
      'phone chat': [],
      'phone drawer': [],
    });
  }, 90_000);
});
