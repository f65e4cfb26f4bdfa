// The report page, opened in a real headless browser (Debian's chromium, driven by playwright-core).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { backprop } from '../packages/cli/test/helpers.ts';

// BACKPROP_CHROMIUM names another chromium binary. Without one the browser test fails in CI (CI=true, as
// CI services set it and .ci/run does) and is skipped elsewhere, saying why.
const executablePath = process.env.BACKPROP_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(executablePath);
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const missing = `${executablePath} is missing (apt-get install chromium, or set BACKPROP_CHROMIUM to a chromium binary)`;
if (!hasChromium && !inCI) console.warn(`report.test.ts: ${missing}; the browser test is skipped (outside CI)`);

const dir = mkdtempSync(join(tmpdir(), 'report-'));
let browser: Browser | undefined;
beforeAll(async () => {
  if (hasChromium) browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('backprop experiment and backprop report', () => {
  it('runs an experiment on a subset, skips finished runs, lists them, and shards them', () => {
    const args = ['experiment', 'depth', '--epochs', '2', '--subset', '400', '--out', dir, '--quiet'];
    const first = backprop([...args, '--jobs', '2']); // two child processes
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(readdirSync(join(dir, 'figures')).sort()).toEqual(['figure-15.svg', 'figure-16.svg', 'figure-17.svg', 'figure-18.svg', 'figure-19.svg']);
    const again = backprop(args.filter((a) => a !== '--quiet'));
    expect(again.stderr).toContain('overrides: epochs 2, subset 400: a quick look, not the paper\'s settings');
    expect(again.stderr).toContain('3 of 3 runs already complete; 0 to run');
    expect(again.stdout).toMatch(/\| 1 hidden layer \(100\) \| \d+\.\d\d% \| \d+\.\d\d% \| - \| \d+\.\d \|/);
    const list = backprop(['experiment', 'all', '--list', '--epochs', '2', '--subset', '400', '--out', dir, '--shard', '1/2']);
    // 14 distinct runs: with 2 epochs, the final network is the same run as the 800-100 tanh one.
    expect(list.stdout).toMatch(/\n7 runs in shard 1\/2 \(of 14\), in /);
    expect(list.stdout).toMatch(/depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +2 +done/);
    expect(backprop(['experiment', 'nope']).stderr.trim()).toBe('backprop: no experiment \'nope\'; choose one of activations, losses, depth, width1, width2, final or all, or give a sweep file (FILE.json)');
    expect(backprop(['experiment', 'all', '--shard', '3/2']).stderr.trim()).toBe('backprop: --shard 3/2: expected K/N with 1 <= K <= N, e.g. 1/4, or auto (under SLURM or a Kubernetes Indexed Job)');
  }, 120_000);

  it('writes a self-contained page whose figures and tables render in a browser', async (context) => {
    if (!hasChromium && inCI) throw new Error(`${missing}: in CI (CI=${process.env.CI}) the browser test must run, not be skipped`);
    if (!hasChromium) context.skip(missing);
    const r = backprop(['report', dir]);
    expect(r.code).toBe(0);
    const page = await browser!.newPage();
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]); // nothing fetched: self-contained
    expect(await page.locator('section').count()).toBe(6);
    const depth = page.locator('section#depth');
    expect(await depth.locator('figure svg').count()).toBe(5);
    const box = await depth.locator('figure#figure-18 svg').boundingBox();
    expect(box!.width).toBeGreaterThan(400);
    expect(await depth.locator('figure#figure-18 svg path').count()).toBeGreaterThan(3); // lines drawn
    expect(await depth.locator('tbody tr').count()).toBe(3);
    expect(await depth.locator('tbody tr').first().locator('td').first().textContent()).toBe('1 hidden layer (100) [subset 400]');
    expect(await page.locator('section#width2 li').first().textContent()).toContain('not yet run');
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  }, 60_000);
});
