/**
 * The site as a user gets it, for the browser tests: built (scripts/build.ts) into a scratch
 * directory, served as `npm run web` serves it (scripts/serve.ts: cross-origin isolated), opened in
 * Debian's chromium (test/chromium.ts). `open` collects the page's console errors and uncaught
 * exceptions; a test expects none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildSite } from '../../packages/web/scripts/build.ts';
import { serveDir, urlOf } from '../../packages/web/scripts/serve.ts';
import { hasChromium, inCI, launch, missing } from '../chromium.ts';

export { hasChromium, inCI, missing };

export interface Site {
  url: string;
  browser: Awaited<ReturnType<typeof launch>>;
  close(): Promise<void>;
}

/** Builds and serves the site, served from a subdirectory (/site/) to show its paths are relative, and starts chromium. */
export async function startSite(): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'backprop-site-'));
  await buildSite(join(dir, 'site') + '/');
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
    if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(site.url + hash);
  await page.waitForSelector('#panel > .panel[data-ready]', { timeout: 0 });
  return { page, errors };
}
