import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { axeProblems, chromiumMissing, composer, message, screenshot, signIn, startWebServer, useBrowser, WAIT } from './web-harness.js';

/** Resolves once an image in the page has loaded its bytes; its natural size. */
async function loaded(page: Page, locator: ReturnType<Page['locator']>): Promise<{ width: number; height: number; src: string }> {
  await locator.waitFor(WAIT);
  await page.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0, await locator.elementHandle(), WAIT);
  return locator.evaluate((img) => {
    const image = img as HTMLImageElement;
    return { width: image.naturalWidth, height: image.naturalHeight, src: image.getAttribute('src') ?? '' };
  });
}

/** A 480×320 PNG that looks like what people paste: a window with an error in it. */
function bugScreenshot(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320">
    <rect width="480" height="320" fill="#eef1f6"/>
    <rect x="20" y="20" width="440" height="280" rx="10" fill="#ffffff" stroke="#c9d1de"/>
    <rect x="20" y="20" width="440" height="36" rx="10" fill="#2459d6"/>
    <text x="40" y="44" font-family="sans-serif" font-size="16" fill="#ffffff">Checkout</text>
    <rect x="44" y="80" width="392" height="64" rx="6" fill="#fdecea" stroke="#b42318"/>
    <text x="60" y="106" font-family="sans-serif" font-size="15" font-weight="bold" fill="#b42318">Payment failed (error 502)</text>
    <text x="60" y="128" font-family="sans-serif" font-size="13" fill="#7a271a">The card was charged but the order was not saved.</text>
    <rect x="44" y="166" width="250" height="14" rx="4" fill="#dfe3ea"/>
    <rect x="44" y="192" width="330" height="14" rx="4" fill="#dfe3ea"/>
    <rect x="44" y="218" width="200" height="14" rx="4" fill="#dfe3ea"/>
    <rect x="316" y="248" width="120" height="34" rx="6" fill="#2459d6"/>
    <text x="345" y="270" font-family="sans-serif" font-size="14" fill="#ffffff">Try again</text>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe.skipIf(chromiumMissing('the web app file tests'))('web app: files in messages', () => {
  const browser = useBrowser();

  it('pastes an image from the clipboard; the other person sees its preview and opens it; a dropped file is a card', async () => {
    const server = await startWebServer();
    const alice = await signIn(browser(), server.url, 'alice');
    const bob = (await signIn(browser(), server.url, 'bob')).page;
    await bob.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);
    await alice.page.getByRole('heading', { level: 1, name: '#general' }).waitFor(WAIT);

    // A real paste: the image is put on the system clipboard, then Ctrl+V in the composer.
    await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const png = await bugScreenshot();
    await alice.page.evaluate(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': new Blob([bytes], { type: 'image/png' }) })]);
    }, png.toString('base64'));
    const box = composer(alice.page, '#general');
    await box.click();
    await box.press('ControlOrMeta+V');
    const tray = alice.page.getByRole('list', { name: 'Files to send' });
    await tray.getByText('Ready to send').waitFor(WAIT);
    expect(await axeProblems(alice.page)).toEqual([]);
    await box.fill('checkout fails after the card is charged, screenshot attached');
    await box.press('Enter');
    await tray.waitFor({ state: 'detached', ...WAIT });

    // Bob sees the preview (the server's thumbnail, through a signed link) and opens it.
    const row = message(bob, 'checkout fails after the card is charged, screenshot attached');
    const preview = row.getByRole('button', { name: /^Open image .*\.png, \d/ });
    const thumbnail = await loaded(bob, preview.getByRole('img'));
    expect(thumbnail.src).toMatch(/\/api\/files\/f[\w-]{22}\/thumbnail\?expires=\d+&signature=/);
    expect([thumbnail.width, thumbnail.height]).toEqual([320, 213]);
    await preview.click();
    const lightbox = bob.getByRole('dialog');
    const full = await loaded(bob, lightbox.getByRole('img'));
    expect([full.width, full.height]).toEqual([480, 320]);
    expect(full.src).toMatch(/\/content\?/);
    await lightbox.getByText('480×320').waitFor(WAIT);
    expect(await axeProblems(bob)).toEqual([]);
    await screenshot(bob, 'files-lightbox');
    await bob.keyboard.press('Escape');
    await lightbox.waitFor({ state: 'detached', ...WAIT });
    expect(await bob.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Open image/);

    // A file dropped on the composer: uploaded with a progress bar, sent alone, shown as a card with its size.
    const drop = await alice.page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['meeting notes\n'.repeat(100)], 'notes.txt', { type: 'text/plain' }));
      return transfer;
    });
    await alice.page.locator('form.composer').first().dispatchEvent('drop', { dataTransfer: drop });
    await tray.getByText('notes.txt').waitFor(WAIT);
    await tray.getByText('Ready to send').waitFor(WAIT);
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const card = bob.getByRole('feed').getByRole('link', { name: 'Download notes.txt, 1.4 KB' });
    await card.waitFor(WAIT);
    const href = await card.getAttribute('href');
    const download = await fetch(new URL(href!, server.url));
    expect(download.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(await download.text()).toBe('meeting notes\n'.repeat(100));
    expect(await axeProblems(bob)).toEqual([]);
    await screenshot(bob, 'files-in-chat');
  }, 60_000);
});
