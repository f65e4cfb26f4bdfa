// The exercises panel in Debian's chromium: an exercise made for a chosen network (the CLI's text,
// word for word), filled in the page and graded with the CLI's checker; its state in the URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSource } from '@backprop/mlp/check';
import { exampleText } from '@backprop/mlp/example';
import { axeViolations, hasChromium, inCI, missing, open, screenshotColours, startSite, tabOrder, type Site } from './site.ts';

if (!hasChromium && !inCI) console.warn(`exercises.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
let site: Site | undefined;
beforeAll(async () => {
  if (hasChromium) site = await startSite();
}, 120_000);
afterAll(async () => {
  await site?.close();
});

const blankLine = /^(.*?) = .*\?(\s+#.*)?$/;

/** The worked example's value of each blank of the exercise (the same line, but its header is longer): line -> value. */
function answersOf(worked: string, exercise: string): Map<number, string> {
  // A line's name (before its first ' = ') and value (after its last, less a comment).
  const values = new Map(
    worked
      .split('\n')
      .filter((l) => !l.startsWith('#') && l.includes(' = '))
      .map((l) => [
        l.split(' = ')[0],
        l
          .replace(/\s+#.*$/, '')
          .split(' = ')
          .at(-1)!,
      ]),
  );
  const answers = new Map<number, string>();
  exercise.split('\n').forEach((line, i) => {
    const blank = blankLine.exec(line);
    if (blank) answers.set(i + 1, values.get(blank[1])!);
  });
  return answers;
}

describe('the exercises panel', () => {
  it("makes the exercise `backprop example` makes for the network chosen, and grades the filled blanks with the checker's score", async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#exercises');
    await page.fill('#ex-layers', '2,3,2');
    await page.selectOption('#ex-activation', 'tanh');
    await page.selectOption('#ex-loss', 'ce');
    await page.fill('#ex-seed', '7');
    await page.fill('#ex-digits', '5');
    await page.click('#generate');
    const args = { layers: '2,3,2', activation: 'tanh', loss: 'ce', seed: 7, digits: 5, lr: 0.5, exercise: true } as const;
    const exercise = exampleText(args);
    // Each line as the page shows it: a blank is its text and an input box (read as ?).
    const shown = await page.$$eval('.sheet .row', (rows) =>
      rows.map((r) => (r.querySelector('input') ? `${r.querySelector('code')!.textContent}?` : r.textContent!.replace(/\u00a0/g, ''))).join('\n'),
    );
    expect(shown).toBe(exercise);
    // The worked example's values in every blank, one of them wrong.
    const answers = answersOf(exampleText({ ...args, exercise: false }), exercise);
    const blanks = await page.$$eval('.sheet input', (is) => is.map((i) => Number((i as HTMLElement).dataset.line)));
    expect(blanks.length).toBe(answers.size);
    const wrongLine = blanks[3];
    for (const line of blanks) await page.fill(`.sheet input[data-line="${line}"]`, line === wrongLine ? '0.12345' : answers.get(line)!);
    await page.click('#grade');
    const filled = exercise
      .split('\n')
      .map((l, i) => (blanks.includes(i + 1) ? l.replace(/\?$/, i + 1 === wrongLine ? '0.12345' : answers.get(i + 1)!) : l))
      .join('\n');
    const { report } = checkSource(filled);
    expect(report.score).toEqual({ right: blanks.length - 1, of: blanks.length });
    expect(await page.textContent('#score')).toBe(
      `${blanks.length} claims: ${blanks.length - 1} ok, 0 rounding, 1 wrong; score ${blanks.length - 1}/${blanks.length}`,
    );
    expect(await page.textContent(`.sheet .verdict[data-line="${wrongLine}"]`)).toMatch(/^wrong: should be /);
    expect(await page.textContent(`.sheet .verdict[data-line="${blanks[0]}"]`)).toBe('ok');
    // The link to the check panel carries the filled text.
    const href = (await page.getAttribute('.to-check', 'href'))!;
    expect(decodeURIComponent(href.slice('#check='.length))).toBe(filled);
    expect(await screenshotColours(page)).toBeGreaterThan(20);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('grades a matrix-form exercise answered in full (its blanks with a comment after them too) with a full score', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#exercises');
    await page.fill('#ex-layers', '2,2,2');
    await page.selectOption('#ex-activation', 'relu');
    await page.selectOption('#ex-loss', 'ce');
    await page.fill('#ex-seed', '3');
    await page.check('#ex-matrix');
    await page.click('#generate');
    const args = { layers: '2,2,2', activation: 'relu', loss: 'ce', seed: 3, digits: 4, lr: 0.5, exercise: true, matrix: true } as const;
    const exercise = exampleText(args);
    const answers = answersOf(exampleText({ ...args, exercise: false }), exercise);
    expect(exercise).toMatch(/= \?\s+# the column sums/);
    const blanks = await page.$$eval('.sheet input', (is) => is.map((i) => Number((i as HTMLElement).dataset.line)));
    expect(blanks).toEqual([...answers.keys()]);
    for (const line of blanks) await page.fill(`.sheet input[data-line="${line}"]`, answers.get(line)!);
    await page.click('#grade');
    expect(await page.textContent('#score')).toBe(`${blanks.length} claims: ${blanks.length} ok, 0 rounding, 0 wrong; score ${blanks.length}/${blanks.length}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('restores the network and the answers from its link, and says what is wrong with a bad field', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#exercises');
    await page.click('#generate'); // the defaults: 2-2-1, sigmoid, mse, 4 digits
    const first = await page.getAttribute('.sheet input >> nth=0', 'data-line');
    await page.fill(`.sheet input[data-line="${first}"]`, '0.5');
    const hash = await page.evaluate(() => location.hash);
    const again = await open(site, hash);
    expect(await again.page.inputValue(`.sheet input[data-line="${first}"]`)).toBe('0.5');
    expect(await again.page.inputValue('#ex-layers')).toBe('2,2,1');
    await again.page.fill('#ex-digits', '13');
    await again.page.click('#generate');
    expect(await again.page.textContent('.error')).toBe(
      '--digits 13: expected a whole number from 1 to 12 (float64 holds about 16 digits, and the checker allows for its rounding)',
    );
    expect([...errors, ...again.errors]).toEqual([]);
    await page.close();
    await again.page.close();
  }, 120_000);

  it('is usable from the keyboard, and axe-core finds no WCAG 2 AA violation', async () => {
    if (!site) return expect(inCI, missing).toBe(false);
    const { page, errors } = await open(site, '#exercises');
    await page.click('#generate');
    const order = await tabOrder(page, 20);
    expect(order.slice(7, 18)).toEqual([
      'input#ex-layers',
      'select#ex-activation',
      'select#ex-loss',
      'select#ex-output',
      'input#ex-lr',
      'input#ex-seed',
      'input#ex-digits',
      'input#ex-exercise',
      'input#ex-matrix',
      'input#ex-from-paper',
      'button#generate',
    ]);
    expect(order[18]).toBe('input'); // the first blank
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
