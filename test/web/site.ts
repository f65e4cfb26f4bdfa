/**
 * The site as a user gets it, for the browser tests: built (scripts/build.ts) into a scratch
 * directory, served as `npm run web` serves it (scripts/serve.ts: cross-origin isolated), opened in
 * Debian's chromium (test/chromium.ts). `open` collects the page's console errors and uncaught
 * exceptions; a test expects none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { buildSite } from '../../packages/web/scripts/build.ts';
import { serveDir, urlOf } from '../../packages/web/scripts/serve.ts';
import { hasChromium, inCI, launch, missing } from '../chromium.ts';

export { hasChromium, inCI, missing };

export interface Site {
  url: string;
  browser: Awaited<ReturnType<typeof launch>>;
  close(): Promise<void>;
}

/**
 * Builds and serves the site, served from a subdirectory (/site/) to show its paths are relative,
 * and starts chromium. `api`: with the API reference (typedoc takes some 20 s: only the docs' test).
 */
export async function startSite({ api = false } = {}): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'backprop-site-'));
  await buildSite(join(dir, 'site') + '/', { api });
  const server: Server = await serveDir(dir, 0);
  const browser = await launch();
  return {
    url: `${urlOf(server)}site/`,
    browser,
    async close() {
      await browser.close();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
}

/** Opens `hash` (e.g. `#check=...`) on the site and waits for its panel to be mounted. */
export async function open(site: Site, hash = ''): Promise<Opened> {
  const page = await site.browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    // A page with no icon of its own (typedoc's) makes the browser ask the host's /favicon.ico, outside the site.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(site.url + hash);
  await page.waitForSelector('#panel > .panel[data-ready]', { timeout: 0 });
  return { page, errors };
}

/**
 * How many colours a screenshot of the page's viewport (or of `what`, a part of it) has, decoded in
 * the page itself on a canvas: a blank or unstyled page has one or two, a panel with text, verdict
 * fills and a graph has hundreds.
 */
export async function screenshotColours(page: Page, what?: Locator): Promise<number> {
  const png = (await (what ? what.screenshot() : page.screenshot({ fullPage: false }))).toString('base64');
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = new OffscreenCanvas(img.width, img.height);
    const g = canvas.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const data = new Uint32Array(g.getImageData(0, 0, img.width, img.height).data.buffer);
    return new Set(data).size;
  }, png);
}

const axeSource = createRequire(new URL('../../packages/web/package.json', import.meta.url)).resolve('axe-core/axe.min.js');

/** axe-core's WCAG 2 A and AA violations on the page as it is now (rule id and the elements), none expected. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axeSource });
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; help: string; nodes: { target: unknown[] }[] }[] }> } })
      .axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** What the Tab key reaches, in order, from the top of the page: a short description of each focused element. */
export async function tabOrder(page: Page, presses: number): Promise<string[]> {
  // The top of the page as the starting point of sequential focus (a click leaves it where it was).
  await page.evaluate(() => {
    const body = document.body;
    body.tabIndex = -1;
    body.focus();
    body.removeAttribute('tabindex');
  });
  const order: string[] = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    order.push(
      await page.evaluate(() => {
        const e = document.activeElement as HTMLElement;
        return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.dataset.panel ? `[${e.dataset.panel}]` : ''}${e.dataset.example ? `[${e.dataset.example}]` : ''}`;
      }),
    );
  }
  return order;
}
