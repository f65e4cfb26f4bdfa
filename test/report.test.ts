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
  if (hasChromium)
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
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
    expect(again.stderr).toContain(
      "overrides: epochs 2, subset 400 (the first 400 training images and the first 67 test images): a quick look, not the paper's settings",
    );
    expect(again.stderr).toContain('3 of 3 runs already complete; 0 to run');
    expect(again.stdout).toMatch(/\| 1 hidden layer \(100\) \[epochs 2, subset 400\] \| \d+\.\d\d% \| \d+\.\d\d% \| \d+\.\d \|/);
    const list = backprop(['experiment', 'all', '--list', '--epochs', '2', '--subset', '400', '--out', dir, '--shard', '1/2']);
    // 14 distinct runs: with 2 epochs, the final network is the same run as the 800-100 tanh one.
    expect(list.stdout).toMatch(/\n7 runs in shard 1\/2 \(of 14\), in /);
    expect(list.stdout).toMatch(/depth\/1-layer +784-100-10 +tanh +hinge +0\.01 +2 +done/);
    expect(backprop(['experiment', 'nope']).stderr.trim()).toBe(
      "backprop: no experiment 'nope'; choose one of activations, losses, depth, width1, width2, final or all, or give a sweep file (FILE.json)",
    );
    expect(backprop(['experiment', 'all', '--shard', '3/2']).stderr.trim()).toBe(
      'backprop: --shard 3/2: expected K/N with 1 <= K <= N, e.g. 1/4, or auto (under SLURM or a Kubernetes Indexed Job)',
    );
  });

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
    expect(await depth.locator('tbody tr').first().locator('td').first().textContent()).toBe('1 hidden layer (100) [epochs 2, subset 400]');
    expect(await depth.locator('p.overrides').textContent()).toBe(
      "A quick look (epochs 2, subset 400): not the paper's settings, so not set beside the paper's numbers, and its findings are not judged.",
    );
    expect(await page.locator('section#width2 li').first().textContent()).toContain('not judged (quick look: epochs 2, subset 400)');
    // The final network's graph: with --epochs 2 --subset 400 it is the same run as depth's 800-100 one, trained above.
    const graph = page.locator('section#final figure#network-graph');
    expect(await graph.locator('figcaption').textContent()).toMatch(/with its trained weights \(800x100-tanh-hinge-lr0\.01-e2-n400-\w+\/model\.safetensors\)/);
    expect(await graph.locator('svg g.node').count()).toBe(7 + 9 + 9); // X, W1..b3; 9 ops (matmul, add, tanh, ..., hingeLoss) and their outputs
    expect(await graph.locator('svg g.edge').count()).toBe(24);
    const labels = await graph.locator('svg g.node text').allTextContents();
    for (const l of ['X [8,784]', 'W1 [784,800]', 'H1_pre [8,800]', 'H2 [8,100]', 'S [8,10]', 'hingeLoss', 'loss scalar']) expect(labels).toContain(l);
    const graphBox = await graph.locator('svg').boundingBox();
    expect(graphBox!.height).toBeGreaterThan(graphBox!.width); // top to bottom
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  });
});
