/**
 * Programs bundled for the browser (esbuild, platform 'browser') and run in Debian's chromium
 * (playwright-core), served from a loopback http server: for the tests that check the graph package
 * in a browser. BACKPROP_CHROMIUM names another chromium binary. Without one these tests fail in CI
 * (CI=true) and are skipped elsewhere, saying why (test/report.test.ts does the same).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { chromium as playwright, type BrowserContext } from 'playwright-core';

export const executablePath = process.env.BACKPROP_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(executablePath);
export const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
export const missing = `${executablePath} is missing (apt-get install chromium, or set BACKPROP_CHROMIUM to a chromium binary)`;

/**
 * One ES module for the browser: `source` (an entry module's text, resolved from `dir`), everything it
 * imports bundled in. Our packages come from their sources (the `@backprop/source` condition, as in
 * vitest), so that a test and a module it imports (examples/custom-op.ts) share one copy of them.
 */
export async function bundle(source: string, dir: string, options: BuildOptions = {}): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: dir, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    conditions: ['@backprop/source'],
    ...options,
  });
  return out.outputFiles![0].text;
}

/** A headless chromium with a fresh profile (deleted by `close`), no network but the loopback server. */
export async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await playwright.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Serves a page running the module `script` (plain http on 127.0.0.1, not cross-origin isolated, as
 * most pages are, unless `isolated`: then with the COOP and COEP headers that allow SharedArrayBuffer;
 * `before`, a classic script run first), opens it, and returns what the module set
 * `globalThis.result` to (awaited). An uncaught error in the page fails the call with its message.
 */
export async function runInPage<T>(context: BrowserContext, script: string, before = '', isolated = false): Promise<T> {
  const html = `<!doctype html><meta charset="utf-8"><script>${before}</script><script type="module" src="/main.js"></script>`;
  const server = createServer((req, res) => {
    const js = req.url === '/main.js';
    const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    res.writeHead(js || req.url === '/' ? 200 : 404, { 'content-type': js ? 'text/javascript' : 'text/html', ...isolation });
    res.end(js ? script : req.url === '/' ? html : '');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const page = await context.newPage();
  try {
    const failed = new Promise<never>((_, reject) => page.on('pageerror', (e) => reject(new Error(`in the page: ${e.message}`))));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // no timeout of its own: the test's timeout bounds it
    const result = page
      .waitForFunction(() => 'result' in globalThis, undefined, { timeout: 0, polling: 100 })
      .then(() => page.evaluate(() => (globalThis as unknown as { result: T }).result));
    return await Promise.race([result, failed]);
  } finally {
    await page.close();
    server.close();
  }
}
