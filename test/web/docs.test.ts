// The docs panel in Debian's chromium: the README and the guides of docs/ as the site serves them,
// every link between them working (a page and a heading that exist, a file the site serves), and
// the API reference (typedoc) beside them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { axeViolations, hasChromium, inCI, missing, open, startSite, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`docs.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite({ api: true });
}, 300_000);
afterAll(async () => {
  await site?.close();
});

const guides = readdirSync(new URL('../../docs/', import.meta.url))
  .filter((f) => f.endsWith('.md'))
  .map((f) => f.slice(0, -3))
  .sort();

describe('the docs panel', () => {
  it('serves the README and every guide of docs/, each reached from the list beside it', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#docs');
    expect(await page.textContent('.doc h1')).toBe('backprop');
    const listed = await page.$$eval('.doc-pages a', (as) => as.map((a) => a.getAttribute('href')));
    expect(listed).toEqual([...['README', ...guides].map((g) => `#docs=${g}`), './api/index.html']);
    for (const guide of guides) {
      await page.click(`.doc-pages a[href="#docs=${guide}"]`);
      await page.waitForSelector(`.doc-pages a[href="#docs=${guide}"][aria-current="page"]`);
      await page.waitForSelector('#panel > .panel-docs[data-ready] .doc h1');
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('has no broken link: each leads to a page and heading that exist, or to a file the site serves', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#docs');
    const broken = await page.evaluate(
      async (names) => {
        const pages = new Map<string, Document>();
        for (const name of names) pages.set(name, new DOMParser().parseFromString(await (await fetch(`./docs/${name}.html`)).text(), 'text/html'));
        const out: string[] = [];
        let links = 0;
        for (const [name, doc] of pages) {
          for (const a of doc.querySelectorAll('a[href]')) {
            const href = a.getAttribute('href')!;
            if (/^[a-z]+:/.test(href)) continue;
            links++;
            if (href.startsWith('#docs=')) {
              const [page, heading] = decodeURIComponent(href.slice('#docs='.length)).split('#');
              if (!pages.has(page)) out.push(`${name}: ${href} (no page ${page})`);
              else if (heading && !pages.get(page)!.getElementById(heading)) out.push(`${name}: ${href} (no heading ${heading})`);
            } else if (!(await fetch(href)).ok) out.push(`${name}: ${href} (not served)`);
          }
          for (const img of doc.querySelectorAll('img'))
            if (!(await fetch(img.getAttribute('src')!)).ok) out.push(`${name}: picture ${img.getAttribute('src')}`);
        }
        return { out, links };
      },
      ['README', ...guides],
    );
    expect(broken.out).toEqual([]);
    expect(broken.links).toBeGreaterThan(50);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('opens a page at a heading from its link, and the API reference beside the guides', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#docs=${encodeURIComponent('cli#backprop-check-file-a-hand-calculation-checked-line-by-line')}`);
    const heading = page.locator('#backprop-check-file-a-hand-calculation-checked-line-by-line');
    expect(await heading.textContent()).toBe('backprop check FILE: a hand calculation, checked line by line');
    expect(await heading.evaluate((h) => h.getBoundingClientRect().top)).toBeLessThan(200); // scrolled to it
    expect(await page.$eval('.doc img[src="./docs/graph.svg"]', (img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(100);
    expect(await axeViolations(page)).toEqual([]);
    await page.click('#api-reference');
    await page.waitForLoadState();
    expect(await page.title()).toMatch(/backprop/);
    expect(await page.textContent('body')).toContain('@backprop/graph');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
