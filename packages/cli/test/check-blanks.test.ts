// `backprop check` on exercises (lines left blank, `= ?`) and on derivations written up in Markdown.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource } from '@backprop/mlp/check';
import { derivationOfMarkdown } from '@backprop/mlp/check/markdown';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-blanks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('blanks', () => {
  const text = `x = 0.5
w = 2
y = x*w + 1 = ?
z = sigmoid(y) = 0.8808
l = z^2
dl/dw = ?
dl/dz = 2z = ?
`;

  it('each gets the value it should hold, in line order among the claims; the claims are judged as before', () => {
    const { report } = checkSource(text);
    expect(report.verdicts.map((v) => [v.line, v.claim, v.claimed, v.verdict])).toEqual([
      [3, 'y', '?', 'blank'],
      [4, 'z', '0.8808', 'ok'],
      [6, 'dl/dw', '?', 'blank'],
      [7, 'dl/dz', '?', 'blank'],
    ]);
    // By hand: y = 2, z = sigmoid(2), dl/dw = 2z · z(1 - z) · x.
    const z = sigmoid(2);
    expect(report.verdicts.map((v) => Number(v.computed))).toEqual([
      2,
      Number(z.toPrecision(8)),
      Number((2 * z * z * (1 - z) * 0.5).toPrecision(8)),
      Number((2 * z).toPrecision(8)),
    ]);
    expect(report.counts).toEqual({ ok: 1, rounding: 0, wrong: 0, blank: 3, undecided: 0 });
    expect(report.score).toEqual({ right: 1, of: 4 });
  });

  it('a derivative claim checked against a blank derivative downstream uses its exact value', () => {
    // dl/dy's recomputation needs dl/dz, which is blank: the exact 2z is taken.
    const z = sigmoid(2),
      dy = 2 * z * z * (1 - z);
    const { report } = checkSource(`${text}dl/dy = 0.19\n`);
    expect(report.verdicts.at(-1)).toMatchObject({ claim: 'dl/dy', verdict: 'wrong', note: `should be ${Number(dy.toPrecision(8))}` });
  });

  it('prints the blanks, the counts with the score, and exits 0 when nothing is wrong', () => {
    const r = backprop(['check', file('blanks.txt', text)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {3}3 {2}y = x \* w \+ 1 +\? +2 +blank\n/);
    expect(r.stdout).toContain('\n1 claim: 1 ok, 0 rounding, 0 wrong, 3 blank; score 1/4\n');
    const all = backprop(['check', file('all-blank.txt', text.replace('= 0.8808', '= ?'))]);
    expect(all.stdout).toContain('\n4 blanks: the computed column holds the value each should have\n');
    expect(backprop(['check', file('givens.txt', 'x = 1\n')]).stdout).toContain('\n0 claims: 0 ok, 0 rounding, 0 wrong; score 0/0\n');
    const wrong = backprop(['check', file('wrong.txt', text.replace('= 0.8808', '= 0.7'))]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('\n1 claim: 0 ok, 0 rounding, 1 wrong, 3 blank; score 0/4\n');
  });

  const errors: [string, string, RegExp][] = [
    ['a blank given', 'w = ?\n', /given.txt:1: 'w = \?' leaves a given blank; a given needs its number/],
    ['a ? inside an expression', 'x = 1\ny = x ? 2\n', /inside.txt:2: a blank '\?' stands alone after the last '=' of a line/],
    ['a ? before the last =', 'x = 1\ny = x + 1 = ? = 2\n', /before.txt:2: a blank '\?' stands alone after the last '=' of a line/],
  ];
  for (const [what, source, message] of errors) {
    it(`refuses ${what}, naming the line (exit 2)`, () => {
      const name = message.source.split('.txt')[0] + '.txt';
      const r = backprop(['check', file(name, source)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('Markdown derivation files', () => {
  const markdown = `# My derivation

Prose is not checked, not even x = 1 + 1 = 3 or \`y = 2\`.

\`\`\`derivation
x = 0.5
w = 2
\`\`\`

Then, in a list:

- the pre-activation:

  \`\`\`derivation
  y = x*w + 1 = 2
  \`\`\`

> and, quoted, a slip:
> \`\`\`derivation
> z = sigmoid(y) = 0.7
> \`\`\`

\`\`\`python
x = 1 +
\`\`\`

~~~derivation with words after the language
dz/dw = 0.05250
~~~
`;

  it('keeps the lines of derivation blocks on their line numbers and blanks the rest', () => {
    const { source, blocks } = derivationOfMarkdown(markdown);
    expect(blocks).toBe(4);
    const lines = source.split('\n');
    expect(lines.length).toBe(markdown.split('\n').length);
    expect(Object.fromEntries(lines.map((l, i) => [i + 1, l]).filter(([, l]) => l))).toEqual({
      6: 'x = 0.5',
      7: 'w = 2',
      15: 'y = x*w + 1 = 2',
      20: 'z = sigmoid(y) = 0.7',
      28: 'dz/dw = 0.05250',
    });
  });

  it("backprop check FILE.md reports with the Markdown file's line numbers", () => {
    const r = backprop(['check', file('derivation.md', markdown)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\n {2}15 {2}y = x \* w \+ 1 +2 +2 +ok\n/);
    expect(r.stdout).toMatch(/\n {2}20 {2}z = sigmoid\(y\) +0\.7 +0\.88079708 +wrong\n/);
    expect(r.stdout).toMatch(/\n {2}28 {2}dz\/dw +0\.05250 +0\.052496793 +ok\n/);
    expect(r.stdout).toContain('3 claims: 2 ok, 0 rounding, 1 wrong; score 2/3');
  });

  it('names the line of an error in the Markdown file', () => {
    const r = backprop(['check', file('error.md', 'Text\n\n```derivation\nx = 1\ny = x + q\n```\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/error\.md:5: unknown name 'q'$/);
  });

  it('refuses a Markdown file without a derivation block, saying how to mark one', () => {
    const r = backprop(['check', file('prose.md', '# Notes\n\n```\nx = 1\n```\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/prose\.md: no fenced code block marked derivation \(```derivation\); in a Markdown file only those lines are checked$/);
  });
});
