// The check panel in Debian's chromium, used as a user uses it: a link with a derivation, typing,
// the worked examples, explain, the graph; the verdicts are the CLI's (the same checker, in the page).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkSource, explain, summarize } from '@backprop/mlp/check';
import { derivationOfMarkdown } from '@backprop/mlp/check/markdown';
import { axeViolations, hasChromium, inCI, missing, open, screenshotColours, startSite, tabOrder, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`check.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite();
}, 120_000);
afterAll(async () => {
  await site?.close();
});

const wrongOne = 'x = 2\ny = x * 3 = 7\nz = y^2 = 36';
const summaryText = (page: import('playwright-core').Page) => page.textContent('#check-summary');

describe('the check panel', () => {
  it('opens a #check= link with its text and verdicts: a wrong claim shows "wrong" and what it should be on its line', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#check=${encodeURIComponent(wrongOne)}`);
    expect(await page.inputValue('#derivation')).toBe(wrongOne);
    await page.waitForSelector('.gutter [data-line="2"].verdict-wrong');
    expect(await page.textContent('.gutter [data-line="2"]')).toBe('wrong: should be 6');
    expect(await page.textContent('.gutter [data-line="3"]')).toBe('ok');
    expect(await summaryText(page)).toBe(summarize(checkSource(wrongOne).report));
    expect(await summaryText(page)).toBe('2 claims: 1 ok, 0 rounding, 1 wrong; score 1/2');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('opens the #check= link of docs/site.md with the verdicts the page says it shows', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const doc = readFileSync(new URL('../../docs/site.md', import.meta.url), 'utf8');
    const link = /^index\.html(#check=\S+)$/m.exec(doc)![1];
    const { page, errors } = await open(site, link);
    const wrong = /line 4 `(wrong: [^`]+)`/.exec(doc.replace(/\s+/g, ' '))![1];
    await page.waitForSelector('.gutter [data-line="4"].verdict-wrong');
    expect(await page.textContent('.gutter [data-line="4"]')).toBe(wrong);
    expect(await page.textContent('.gutter [data-line="3"]')).toBe('ok');
    expect(doc).toContain(`the summary \`${await summaryText(page)}\``);
    expect(doc).toContain(`\`\`\`\n${await page.inputValue('#derivation')}\n\`\`\``);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('checks as you type, and keeps the text in the URL', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#check=${encodeURIComponent('x = 2\n')}`);
    await page.click('#derivation');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('y = x * 3 = 6');
    await page.waitForSelector('.gutter [data-line="2"].verdict-ok');
    expect(await summaryText(page)).toBe('1 claim: 1 ok, 0 rounding, 0 wrong; score 1/1');
    expect(decodeURIComponent((await page.evaluate(() => location.hash)).slice('#check='.length))).toBe('x = 2\ny = x * 3 = 6');
    await page.waitForSelector('.graph svg', { timeout: 0 });
    await page.keyboard.type('\nz = y +');
    await page.waitForSelector('.gutter [data-line="3"].error-line');
    expect(await summaryText(page)).toMatch(/^line 3: /);
    // The picture of the text before the error is not left standing.
    await page.waitForFunction(() => document.querySelector('.graph')!.textContent === 'The graph is drawn once the derivation has no error.');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("loads the repository's worked examples in one click, with the CLI's verdicts (a Markdown write-up in its derivation blocks)", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#check');
    const files = await page.$$eval('.examples button', (bs) => bs.map((b) => (b as HTMLElement).dataset.example!));
    expect(files).toEqual(['derivation.md', 'exercise-attempt.txt', 'mazur-by-hand.txt', 'paper-worked-example.txt']);
    for (const file of files) {
      const text = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
      await page.click(`.examples button[data-example="${file}"]`);
      await page.waitForFunction((t) => (document.getElementById('derivation') as HTMLTextAreaElement).value === t, text);
      const source = file.endsWith('.md') ? derivationOfMarkdown(text).source : text;
      await page.waitForFunction((s) => document.getElementById('check-summary')!.textContent === s, summarize(checkSource(source).report));
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("explains a derivative step by step, and draws the graph with each claim's verdict on its node", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#check'); // the paper's worked example
    expect(await page.inputValue('#explain-of')).toBe('dl/do');
    await page.fill('#explain-of', 'dl/dw5');
    await page.click('#explain');
    // The CLI's --explain, word for word.
    const paper = readFileSync(new URL('../../examples/paper-worked-example.txt', import.meta.url), 'utf8');
    const steps = await page.textContent('.explained');
    expect(steps).toBe(explain(checkSource(paper).derivation, 'l', 'w5'));
    expect(steps).toMatch(/^backward pass for dl\/dw5, from l back to w5[\s\S]*\ndl\/dw5 = 0\.16810362$/);
    await page.fill('#explain-of', 'dl/dw9');
    await page.keyboard.press('Enter');
    expect(await page.textContent('.explained')).toBe("dl/dw9: the file defines no 'w9'");
    await page.waitForSelector('.graph svg', { timeout: 0 });
    const labels = await page.$$eval('.graph svg text', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(labels.some((t) => /^line \d+: .* ok/.test(t))).toBe(true);
    expect(await screenshotColours(page)).toBeGreaterThan(50);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('is usable from the keyboard, and axe-core finds no WCAG 2 AA violation (contrast included)', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, `#check=${encodeURIComponent(wrongOne)}`);
    await page.waitForSelector('.graph svg', { timeout: 0 });
    const order = await tabOrder(page, 16);
    expect(order.slice(0, 7)).toEqual(['a', 'a[check]', 'a[exercises]', 'a[backward]', 'a[train]', 'a[draw]', 'a[docs]']);
    expect(order.slice(7, 11)).toEqual([
      'button[derivation.md]',
      'button[exercise-attempt.txt]',
      'button[mazur-by-hand.txt]',
      'button[paper-worked-example.txt]',
    ]);
    expect(order.slice(11, 15)).toEqual(['textarea#derivation', 'summary', 'input#explain-of', 'button#explain']);
    // Enter on a focused example button loads it.
    await page.focus('.examples button[data-example="paper-worked-example.txt"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (document.getElementById('derivation') as HTMLTextAreaElement).value.startsWith("# The paper's worked example"));
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
