import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource, unitOf } from '../src/check/evaluate.ts';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const example = join(repoRoot, 'examples/paper-worked-example.txt');
const verdictsOf = (src: string) => Object.fromEntries(checkSource(src).report.verdicts.map((v) => [v.claim, v.verdict]));

describe('backprop check on the paper\'s worked example (Figures 3-4)', () => {
  it('finds every claim ok or rounding, none wrong, and exits 0', () => {
    const r = backprop(['check', example]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('12 claims: 8 ok, 4 rounding, 0 wrong');
    // o' is rounding: the paper adds the rounded H1 = 0.6570 and H2 = 0.5293.
    expect(r.stdout).toMatch(/25 +o' = b2 \+ H1 \* w5 \+ H2 \* w6 +1\.355395 +1\.3554276 +rounding/);
    expect(r.stdout).toMatch(/32 +dl\/dw5 +0\.168103 +0\.16810362 +ok/);
  });

  it('shows the paper\'s slip (h1 with I2 = 0.05) as wrong, with what the line should be, and exits 1', () => {
    const slip = file('slip.txt', readFileSync(example, 'utf8').replace(/^I2 = 0.25$/m, 'I2 = 0.05'));
    const r = backprop(['check', slip]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/21 +h1 = I1 \* w1 \+ b1 \+ I2 \* w3 +0\.65 +0\.5 +wrong\n +! should be 0\.5/);
  });

  it('prints the same as JSON', () => {
    const r = backprop(['check', example, '--json']);
    const json = JSON.parse(r.stdout);
    expect(json.counts).toEqual({ ok: 8, rounding: 4, wrong: 0 });
    expect(json.verdicts[0]).toMatchObject({ line: 21, claim: 'h1', claimed: '0.65', computed: '0.65', verdict: 'ok' });
  });

  it('explains a backward pass step by step', () => {
    const r = backprop(['check', example, '--explain', 'dl/dw6']);
    expect(r.stdout).toContain('backward pass for dl/dw6, from l back to w6');
    expect(r.stdout).toMatch(/3\. o = sigmoid\(o'\)\n   upstream dl\/d\(o\) = 1\.5700311\n   local rule: sigmoid'\(x\) = y\(1 - y\)\n   -> contributes 0\.25586141 to dl\/d\(o'\)/);
    expect(r.stdout).toMatch(/dl\/dw6 = 0\.135438\d*\n?$/);
  });
});

describe('the verdicts', () => {
  it('ok within one unit of the last written digit; rounding when the line is right from the claimed values; wrong otherwise', () => {
    const v = verdictsOf(`
      x = 2
      a = x / 7 = 0.286        # exact 0.2857..: within 0.001 -> ok
      b = a * 7000 = 2002      # exact 2000, but 0.286 * 7000 = 2002 -> rounding
      c = a * 7000 = 2010      # neither -> wrong
    `);
    expect(v).toEqual({ a: 'ok', b: 'rounding', c: 'wrong' });
  });
  it('a derivative claim is rounding when it follows from the claimed derivative one step downstream', () => {
    const v = verdictsOf(`
      x = 0.3
      s = sigmoid(x) = 0.574     # exact 0.57444
      l = s^2
      dl/ds = 1.15               # exact 1.14888 -> 1.15 is within 0.01: ok
      dl/dx = 0.2811             # exact 2 s^2 (1 - s) = 0.28084; from dl/ds = 1.15 and s = 0.574: 0.28118 -> rounding
    `);
    expect(v).toEqual({ s: 'ok', 'dl/ds': 'ok', 'dl/dx': 'rounding' });
  });
  it('a step between the definition and the claim that disagrees makes the line wrong', () => {
    const { report } = checkSource('a = 0.05\nh = a * 2 = 0.05 * 3 = 0.100');
    expect(report.verdicts[0]).toMatchObject({ verdict: 'wrong', note: 'the step 0.05 * 3 gives 0.15, not 0.1' });
  });
  it('counts the unit of the last written digit', () => {
    expect([unitOf('0.6570'), unitOf('2'), unitOf('1.5e-3'), unitOf('120')]).toEqual([1e-4, 1, 1e-4, 1]);
  });
});

describe('the file format', () => {
  it('reads every construct: names with primes, operators, functions, derivatives in expressions, matrices', () => {
    const v = verdictsOf(`
      # comments and blank lines are ignored

      x = 0.5
      x' = -1.5                               # a prime is part of a name
      p = (x + x') * 2 - x / 4 = -2.125
      q = 2(x - x')^2 = 8                     # implicit product, power
      f = sigmoid(x) + tanh(x) + relu(x') + elu(x') + exp(x) + log(x) + sqrt(x) + abs(x') = 3.4704
      m = max(x, x') - min(x, x') × 2 = 3.5   # × is accepted for *
      g = x - 0.1 * dp/dx = 0.325             # a derivative inside an expression
      dp/dx = 1.75
      A = [[1, 2], [3, 4]]
      v = [[1], [-1]]
      w = T(A) @ v = [[-2], [-2]]
      s = sum(A * A) = 30
      mu = mean(A) = 2.5
      P = softmax([1, 1]) = [0.5, 0.5]
      dmu/dA = [[0.25, 0.25], [0.25, 0.25]]
    `);
    expect(Object.entries(v).filter(([, x]) => x !== 'ok')).toEqual([]);
    expect(Object.keys(v)).toEqual(['p', 'q', 'f', 'm', 'g', 'dp/dx', 'w', 's', 'mu', 'P', 'dmu/dA']);
  });

  const errors: [string, string, RegExp][] = [
    ['unknown name', 'a = 1\nb = a + c = 2\n', /unknown.txt:2: unknown name 'c'$/],
    ['syntax error', 'a = 1\nb = (a + 2 = 3\n', /syntax.txt:2: syntax error: expected '\)' at '='$/],
    ['a bad character', 'a = 1 $ 2\n', /char.txt:1: syntax error: unexpected '\$' at column 7$/],
    ['a name defined twice', 'a = 1\nb = 2\na = 3\n', /twice.txt:3: 'a' is defined twice \(first on line 1\)$/],
    ['a shape mismatch', 'A = [[1, 2]]\nB = [[1, 2]]\nC = A @ B\n', /shape.txt:3: matmul: cannot multiply \[1,2\] by \[1,2\]: 2 != 1$/],
    ['a cycle', 'a = b + 1\nb = c * 2\nc = a\n', /cycle.txt:1: cycle: a -> b -> c -> a$/],
    ['a derivative of a non-scalar', 'A = [[1, 2]]\nB = A * 2\ndB/dA = 2\n', /nonscalar.txt:3: dB\/dA needs B to be a single number, but it has shape \[1,2\]$/],
  ];
  for (const [what, text, message] of errors) {
    it(`exits 2 with the line number and the problem: ${what}`, () => {
      const name = message.source.split('.txt')[0].replace(/\\/g, '') + '.txt';
      const r = backprop(['check', file(name, text)]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    });
  }

  it('refuses --explain of a name the file does not define', () => {
    const r = backprop(['check', example, '--explain', 'dl/dw9']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("backprop: --explain dl/dw9: the file defines no 'w9'");
  });

  it('exits 2 for a file that cannot be read', () => {
    const r = backprop(['check', join(dir, 'nope.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/nope.txt: cannot read: ENOENT$/);
  });
});
