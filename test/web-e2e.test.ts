import { describe, expect, it } from 'vitest';
import { chromiumMissing, connected, DESKTOP, message, say, startWebServer, useBrowser, WAIT } from './web-harness.js';

describe.skipIf(chromiumMissing('the web app sign-in test'))('web app: signing in', () => {
  const browser = useBrowser();

  it('registers and signs in with a password in accounts mode, and stays signed in across a reload', async () => {
    const server = await startWebServer({ auth: 'accounts' });
    const context = await browser().newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(WAIT.timeout);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('User name').fill('erin');
    // A short password is explained in words, before anything is sent.
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'Choose a password of at least 8 characters.' }).waitFor(WAIT);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await connected(page);
    await page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await say(page, '#general', 'signed in for real');
    await message(page, 'signed in for real').waitFor(WAIT);

    await page.reload();
    await connected(page);
    await message(page, 'signed in for real').waitFor(WAIT);
    expect(await page.getByRole('button', { name: /^Your profile: erin/ }).count()).toBe(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').fill('erin');
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor(WAIT);
    await context.close();
  }, 60_000);
});
