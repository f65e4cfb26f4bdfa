// The backward panel as a user steps it, in Debian's chromium: the keys and buttons walk the
// backward pass from the loss back to the inputs, the gradients it shows are the tape's (computed
// here in Node by the same code: to the bit without Math.exp, within 1e-12 with it, since Math.exp
// differs in its last bit between Node 20's V8 and Chromium's), the hand-derived pass agrees, and a
// link restores the network and the step. No console errors; the graph is not blank.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { parseSetup, recordPass } from '../../packages/web/src/backward/pass.ts';
import { axeViolations, hasChromium, inCI, missing, open, screenshotColours, startSite, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`backward.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite();
}, 300_000);
afterAll(async () => {
  await site?.close();
});

/** The table's rows: parameter, the tape's gradient (full precision, from data-tape) and whether the other account agrees. */
const rows = (page: Page) =>
  page.$$eval('.compare tbody tr', (trs) =>
    trs.map((tr) => ({ param: (tr as HTMLElement).dataset.param, tape: (tr as HTMLElement).dataset.tape, agree: (tr as HTMLElement).dataset.agree })),
  );

/** The panel's state in the page's URL. */
const stateOf = async (page: Page) =>
  Object.fromEntries(new URLSearchParams(decodeURIComponent((await page.evaluate(() => location.hash)).replace(/^#backward=/, ''))));

/** Whether the numbers of `shown` (comma-separated) are `expected`'s within 1e-12 (relative). */
const near = (shown: string | undefined, expected: ArrayLike<number>) =>
  shown !== undefined && shown.split(',').every((v, i) => Math.abs(Number(v) - expected[i]) <= 1e-12 * Math.max(1, Math.abs(expected[i])));

/** Waits for the graph of step `k` to be drawn. */
const drawn = (page: Page, k: number) => page.waitForSelector(`.panel-backward[data-drawn="${k}"]`, { timeout: 0 });

describe('the backward panel', () => {
  it("steps the paper's Figures 3-4 from the loss back to the inputs with the keys, showing the tape's gradients", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#backward');
    await drawn(page, 0);
    expect(await page.textContent('.step-text')).toMatch(/^Step 0 of 7: the forward pass is done; the loss l = 0\.616249, and dl\/dl = 1\.$/);
    expect((await rows(page)).map((r) => r.tape)).toEqual([undefined, undefined, undefined, undefined]);
    const node = recordPass(parseSetup(''));
    const tape = (name: string) => node.compared.find((c) => c.name === name)!.tape.toFlatArray();
    // The keys are the panel's: with the focus outside it (the page, the nav) they step nothing (a key's
    // listeners run before page.keyboard.press returns, and a step sets data-step at once).
    const step = () => page.$eval('.panel-backward', (p) => (p as HTMLElement).dataset.step);
    await page.keyboard.press('ArrowRight');
    await page.focus('#nav a');
    await page.keyboard.press('End');
    expect([await step(), (await stateOf(page)).step ?? '0']).toEqual(['0', '0']);
    // Step 3 passes dl/dS to the output layer's bias b2; step 4 to W2 (w5, w6): from the graph, the region a keyboard user tabs to.
    await page.focus('.tape-graph');
    for (let k = 1; k <= 4; k++) {
      await page.keyboard.press('ArrowRight');
      await drawn(page, k);
    }
    expect(await page.textContent('.step-text')).toMatch(/^Step 4 of 7: matmul .* passes dl\/dH1 = \[.*\] and dl\/dW2 = \[0\.168104, 0\.135438\]\.$/);
    const after4 = await rows(page);
    expect(after4.map((r) => [r.param, r.agree])).toEqual([
      ['W1', undefined],
      ['b1', undefined],
      ['W2', 'true'],
      ['b2', undefined],
    ]);
    expect([after4[0].tape, after4[1].tape]).toEqual([undefined, undefined]);
    expect(near(after4[2].tape, tape('W2')) && near(after4[3].tape, tape('b2'))).toBe(true);
    expect((await stateOf(page)).step).toBe('4');
    // "To the inputs" by the keyboard: the button it disables hands the focus to the graph, whose keys still step.
    await page.focus('button[data-action="last"]');
    await page.keyboard.press('Enter');
    await drawn(page, 7);
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('tape-graph');
    await page.keyboard.press('ArrowLeft');
    await drawn(page, 6);
    await page.keyboard.press('End');
    await drawn(page, 7);
    const after7 = await rows(page);
    expect(after7.map((r) => near(r.tape, tape(r.param!)))).toEqual([true, true, true, true]);
    expect(await page.isDisabled('button[data-action="step"]')).toBe(true);
    await page.click('button[data-action="back"]');
    await drawn(page, 6);
    expect(await page.$eval('.tape-graph svg', (s) => s.textContent)).toContain('grad');
    expect(await screenshotColours(page, page.locator('.tape-graph'))).toBeGreaterThan(20); // a drawn graph (fills, red, text), not an empty box
    expect(await axeViolations(page)).toEqual([]); // WCAG 2 A and AA, contrast included
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it("restores a network of the user's choice and its step from a link; the hand-derived pass agrees with the tape", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#backward=${encodeURIComponent('network=mlp&layers=3,4,3&activation=relu&loss=hinge&seed=5&step=2')}`);
    await drawn(page, 2);
    expect(await page.inputValue('#backward-layers')).toBe('3,4,3');
    expect(await page.inputValue('#backward-loss')).toBe('hinge');
    await page.click('button[data-action="last"]');
    await drawn(page, 6);
    // relu and hinge call no Math.exp: the page's gradients are Node's, bit for bit.
    const node = recordPass(parseSetup('network=mlp&layers=3,4,3&activation=relu&loss=hinge&seed=5'));
    expect(await rows(page)).toEqual(node.compared.map((c) => ({ param: c.name, tape: Array.from(c.tape.toFlatArray()).join(','), agree: 'true' })));
    // Another network from the form starts again at step 0; with sigmoid and cross-entropy (Math.exp), Node's within 1e-12.
    await page.selectOption('#backward-activation', 'sigmoid');
    await drawn(page, 0);
    await page.selectOption('#backward-loss', 'ce');
    await drawn(page, 0);
    expect(await stateOf(page)).toEqual({ network: 'mlp', layers: '3,4,3', activation: 'sigmoid', loss: 'ce', seed: '5', step: '0' });
    await page.click('button[data-action="last"]');
    await drawn(page, 6);
    const exp = recordPass(parseSetup('network=mlp&layers=3,4,3&activation=sigmoid&loss=ce&seed=5'));
    const shown = await rows(page);
    expect(shown.map((r, i) => [r.agree, near(r.tape, exp.compared[i].tape.toFlatArray())])).toEqual(exp.compared.map(() => ['true', true]));
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
