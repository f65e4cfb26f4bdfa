// The site's shell in Debian's chromium: it builds, serves with relative paths from a subdirectory,
// is cross-origin isolated, shows every panel of its nav, and keeps a panel's state in the URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, inCI, missing, open, startSite, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`shell.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite();
}, 120_000);
afterAll(async () => {
  await site?.close();
});

describe('the site shell', () => {
  it('opens every panel of its nav from a subdirectory, cross-origin isolated, without console errors', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const names = await page.$$eval('#nav a', (as) => as.map((a) => (a as HTMLAnchorElement).dataset.panel));
    expect(names).toEqual(['check', 'exercises', 'backward', 'train', 'draw', 'docs']);
    for (const name of names) {
      await page.click(`#nav a[data-panel="${name}"]`);
      await page.waitForSelector(`#panel > .panel-${name}[data-ready]`);
      expect(await page.getAttribute(`#nav a[data-panel="${name}"]`, 'aria-current')).toBe('page');
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("keeps the check panel's text in the URL, and a #check= link restores it", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#check');
    await page.fill('#derivation', 'x = 2\ny = x * 3 = 6');
    const hash = await page.evaluate(() => location.hash);
    expect(hash).toBe(`#check=${encodeURIComponent('x = 2\ny = x * 3 = 6')}`);
    const again = await open(site, hash);
    expect(await again.page.inputValue('#derivation')).toBe('x = 2\ny = x * 3 = 6');
    expect([...errors, ...again.errors]).toEqual([]);
    await page.close();
    await again.page.close();
  }, 120_000);
});
