// The train and draw panels as a user uses them, in Debian's chromium: a run started from the form
// (stopped and continued half-way) ends with the numbers `backprop train` prints for the same
// settings, its loss falling and its test accuracy past 80%; a digit drawn with the mouse gets ten
// scores and a prediction, and its link restores it. No console errors; the panels are not blank.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { loadMnist } from '@backprop/mlp';
import { axeViolations, hasChromium, inCI, missing, open, screenshotColours, startSite, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`training.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'backprop-web-train-'));
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite();
}, 300_000);
afterAll(async () => {
  await site?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const settings = {
  layers: '784,800,100,10',
  activation: 'tanh',
  loss: 'hinge',
  lr: '0.01',
  batchSize: '8',
  epochs: '6',
  init: 'xavier',
  optimizer: 'sgd',
  seed: '7',
  subset: '1200',
};

/** The CLI's run of the same settings: each epoch's row as the panel's table shows it. */
function cliRows(): string[][] {
  const out = join(scratch, 'cli');
  const args = ['train', '--layers', settings.layers, '--activation', settings.activation, '--loss', settings.loss, '--lr', settings.lr];
  args.push('--batch-size', settings.batchSize, '--epochs', settings.epochs, '--init', settings.init, '--optimizer', settings.optimizer);
  args.push('--seed', settings.seed, '--subset', settings.subset, '--json', '--out', out);
  const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/backprop.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`backprop ${args.join(' ')} failed: ${r.stderr}`);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const metrics = spawnSync('cat', [join(out, 'metrics.jsonl')], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.event === 'epoch')
    .map((l) => {
      const mean = metrics.find((m) => m.type === 'epoch' && m.epoch === l.epoch).meanIterationLoss as number;
      return [String(l.epoch), mean.toFixed(4), l.trainLoss.toFixed(4), pct(l.trainAccuracy), l.testLoss.toFixed(4), pct(l.testAccuracy)];
    });
}

describe('the train panel', () => {
  it("trains from its form in the worker, stops and continues, and ends with the CLI's numbers", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#train=${encodeURIComponent(new URLSearchParams(settings).toString())}`);
    // The link filled the form, and the form shows the command that trains the same run.
    expect(await page.inputValue('#train-seed')).toBe('7');
    expect(await page.textContent('.cli')).toBe(
      'npx backprop train --layers 784,800,100,10 --activation tanh --loss hinge --lr 0.01 --batch-size 8 --epochs 6 --init xavier --optimizer sgd --seed 7 --subset 1200',
    );
    await page.click('button[data-action="train"]');
    // Stopped before it trains: the worker stops at its first look at its messages, a tenth of a
    // second into its 900 steps (far fewer than that many), and waits.
    await page.click('button[data-action="stop"]');
    await page.waitForSelector('.panel-train[data-status="stopped"]', { timeout: 0 });
    const stoppedAt = Number(await page.getAttribute('.progress', 'value'));
    expect(stoppedAt).toBeLessThan(900);
    await page.keyboard.press('Tab'); // keyboard: Continue is a button reached and pressed without the mouse
    await page.focus('button[data-action="continue"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.panel-train[data-status="done"]', { timeout: 0 });
    const rows = await page.$$eval('.epochs tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(rows).toEqual(cliRows());
    expect(Number(rows[5][2])).toBeLessThan(Number(rows[0][2])); // the training loss falls
    expect(Number.parseFloat(rows[5][5])).toBeGreaterThan(80); // test accuracy
    expect(await page.textContent('.status')).toMatch(
      /^Done \(784-800-100-10\): 6 epochs, 900 iterations; training on the first 1200 images, testing on the first 200; seed 7/,
    );
    expect(await page.$$eval('.loss-plot polyline', (p) => p.length)).toBe(1);
    expect(await screenshotColours(page, page.locator('.loss-plot'))).toBeGreaterThan(3);
    expect(await screenshotColours(page, page.locator('.accuracy-plot'))).toBeGreaterThan(3);
    expect(await axeViolations(page)).toEqual([]); // WCAG 2 A and AA, contrast included
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);
});

describe('the train panel with LeNet-5', () => {
  it('trains the model file from its form, its MLP-only fields disabled, and names the --model command', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const lenet = { ...settings, model: 'lenet', epochs: '1', subset: '120', seed: '2' };
    const { page, errors } = await open(site, `#train=${encodeURIComponent(new URLSearchParams(lenet).toString())}`);
    expect(await page.isDisabled('#train-layers')).toBe(true);
    expect(await page.textContent('.cli')).toBe(
      'npx backprop train --model examples/models/lenet.ts --loss hinge --lr 0.01 --batch-size 8 --epochs 1 --optimizer sgd --seed 2 --subset 120',
    );
    await page.click('button[data-action="train"]');
    await page.waitForSelector('.panel-train[data-status="done"]', { timeout: 0 });
    expect(await page.textContent('.status')).toMatch(
      /^Done \(LeNet-5\): 1 epoch, 15 iterations; training on the first 120 images, testing on the first 20; seed 2/,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);
});

describe('the draw panel', () => {
  it('scores a digit drawn with the mouse (a small network trains first), and its link restores it', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#draw');
    const box = (await page.locator('.pad').boundingBox())!;
    // A 7: a bar across the top, then a stroke down and to the left.
    await page.mouse.move(box.x + 70, box.y + 60);
    await page.mouse.down();
    for (const [x, y] of [
      [140, 60],
      [210, 60],
      [180, 140],
      [150, 220],
      [135, 250],
    ])
      await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
    await page.mouse.up();
    const hash = await page.evaluate(() => location.hash);
    expect(hash).toMatch(/^#draw=[0-9a-f]{784}$/);
    await page.waitForSelector('.panel-draw[data-prediction]', { timeout: 0 });
    expect(await page.$$eval('.scores tbody tr', (trs) => trs.length)).toBe(10);
    expect(await page.textContent('.prediction')).toMatch(/^Prediction: \d$/);
    expect(await screenshotColours(page, page.locator('.seen'))).toBeGreaterThan(2);
    expect(await axeViolations(page)).toEqual([]);
    // The link restores what the network saw.
    const again = await open(site, hash);
    await again.page.waitForSelector('.panel-draw[data-prediction]', { timeout: 0 });
    const seen = (p: Page) => p.evaluate(() => location.hash);
    expect(await seen(again.page)).toBe(hash);
    // Clear empties the pad and the link.
    await page.click('button[data-action="clear"]');
    expect(await page.evaluate(() => location.hash)).toBe('#draw');
    expect([...errors, ...again.errors]).toEqual([]);
    await page.close();
    await again.page.close();
  }, 600_000);
  it('loads an MNIST test image by its number from the keyboard (no pointer needed), scores it, and its link holds it', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { test } = loadMnist();
    const { page, errors } = await open(site, '#draw');
    await page.focus('#draw-index');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('10000');
    await page.keyboard.press('Enter');
    expect(await page.textContent('.loaded')).toBe('10000: the test images are numbered 0 to 9999; type one of those');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.panel-draw[data-loaded="3"]', { timeout: 0 });
    expect(await page.textContent('.loaded')).toBe(`MNIST test image 3, labelled ${test.labels[3]}.`);
    // The link holds the image in 16 grey levels, as a drawing's does: what the network scores.
    const hex = Array.from(test.images.subarray(3 * 784, 4 * 784), (b) => Math.round((b / 255) * 15).toString(16)).join('');
    expect(await page.evaluate(() => location.hash)).toBe(`#draw=${hex}`);
    await page.waitForSelector('.panel-draw[data-prediction]', { timeout: 0 });
    expect(await page.$$eval('.scores tbody tr', (trs) => trs.length)).toBe(10);
    expect(await screenshotColours(page, page.locator('.seen'))).toBeGreaterThan(2);
    expect(await axeViolations(page)).toEqual([]);
    // Drawn on, it is no longer that test image: the label goes.
    const box = (await page.locator('.pad').boundingBox())!;
    await page.mouse.move(box.x + 40, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 60, box.y + 200, { steps: 5 });
    await page.mouse.up();
    expect(await page.textContent('.loaded')).toBe('');
    expect(await page.evaluate(() => location.hash)).not.toBe(`#draw=${hex}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);

  it("scores with the train panel's run, never one of its own in its place, even while that run loads MNIST", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const lenet = { ...settings, model: 'lenet', epochs: '1', subset: '120', seed: '2' };
    const { page, errors } = await open(site, `#train=${encodeURIComponent(new URLSearchParams(lenet).toString())}`);
    await page.click('button[data-action="train"]');
    await page.click('#nav a[data-panel="draw"]'); // at once: the worker is still fetching MNIST
    await page.waitForSelector('.panel-draw[data-ready]');
    const box = (await page.locator('.pad').boundingBox())!;
    await page.mouse.move(box.x + 140, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 140, box.y + 240, { steps: 10 });
    await page.mouse.up();
    await page.waitForSelector('.panel-draw[data-prediction]', { timeout: 0 });
    expect(await page.textContent('.network')).toMatch(/^Scored by LeNet-5 after \d+ iterations on 120 images/);
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);
});
