import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource, unitOf } from '@backprop/mlp/check';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const example = join(repoRoot, 'examples/paper-worked-example.txt');
const verdictsOf = (src: string) =>
  Object.fromEntries(checkSource(src).report.verdicts.map((v) => [v.claim, v.truncated ? `${v.verdict} (truncated)` : v.verdict]));

describe("backprop check on the paper's worked example (Figures 3-4)", () => {
  it('finds every claim ok or rounding, none wrong, and exits 0', () => {
    const r = backprop(['check', example]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('14 claims: 10 ok (3 truncated), 4 rounding, 0 wrong');
    // o' is rounding: the paper adds the rounded H1 = 0.6570 and H2 = 0.5293.
    expect(r.stdout).toMatch(/25 +o' = b2 \+ H1 \* w5 \+ H2 \* w6 +1\.355395 +1\.3554276 +rounding/);
    // 0.16810362 rounds to 0.168104; the paper wrote it truncated, and the verdict says so.
    expect(r.stdout).toMatch(/32 +dl\/dw5 +0\.168103 +0\.16810362 +ok \(truncated\)\n/);
    expect(r.stdout).toMatch(/31 +dl\/do' +0\.25586 +0\.25586141 +ok\n/);
  });

  it("shows the paper's slip (h1 with I2 = 0.05) as wrong, with what the line should be, and exits 1", () => {
    const slip = file('slip.txt', readFileSync(example, 'utf8').replace(/^I2 = 0.25$/m, 'I2 = 0.05'));
    const r = backprop(['check', slip]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/21 +h1 = I1 \* w1 \+ b1 \+ I2 \* w3 +0\.65 +0\.5 +wrong\n +! should be 0\.5/);
  });

  it('prints the same as JSON', () => {
    const r = backprop(['check', example, '--json']);
    const json = JSON.parse(r.stdout);
    expect(json.counts).toEqual({ ok: 10, rounding: 4, wrong: 0, blank: 0, undecided: 0 });
    expect(json.score).toEqual({ right: 14, of: 14 });
    expect(json.verdicts[0]).toMatchObject({ line: 21, claim: 'h1', claimed: '0.65', computed: '0.65', verdict: 'ok' });
    expect(json.verdicts[0].truncated).toBeUndefined();
    expect(json.verdicts.filter((v: { truncated?: boolean }) => v.truncated).map((v: { claim: string }) => v.claim)).toEqual(['o', 'dl/dw5', 'dl/dw6']);
  });

  it('explains a backward pass step by step', () => {
    const r = backprop(['check', example, '--explain', 'dl/dw6']);
    expect(r.stdout).toContain('backward pass for dl/dw6, from l back to w6');
    expect(r.stdout).toMatch(
      /3\. o = sigmoid\(o'\)\n   upstream dl\/d\(o\) = 1\.5700311\n   local rule: sigmoid'\(x\) = y\(1 - y\)\n   -> contributes 0\.25586141 to dl\/d\(o'\)/,
    );
    expect(r.stdout).toMatch(/dl\/dw6 = 0\.135438\d*\n?$/);
  });
});

describe('the verdicts', () => {
  it('ok when the value rounds to the claim; rounding when the line is right from the claimed values; wrong otherwise', () => {
    const v = verdictsOf(`
      x = 2
      a = x / 7 = 0.286        # exact 0.2857..: rounded to 3 decimals -> ok
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
  it('a claim one unit off its last digit is wrong: 2 + 2 = 5, 0.1 + 0.2 = 0.4, 10 * 10 = 99', () => {
    const r = backprop(['check', file('arithmetic.txt', 'a = 2 + 2 = 5\nb = 0.1 + 0.2 = 0.4\nc = 10 * 10 = 99\nd = 10 * 10 = 100\n')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 +a = 2 \+ 2 +5 +4 +wrong\n +! should be 4\n/);
    expect(r.stdout).toMatch(/2 +b = 0\.1 \+ 0\.2 +0\.4 +0\.3 +wrong\n/);
    expect(r.stdout).toMatch(/3 +c = 10 \* 10 +99 +100 +wrong\n/);
    expect(r.stdout).toMatch(/4 +d = 10 \* 10 +100 +100 +ok\n/);
    expect(r.stdout).toContain('4 claims: 1 ok, 0 rounding, 3 wrong');
  });
  it('ok is the exact value rounded to the digits written, or truncated (said so); the written digits set the precision', () => {
    const v = verdictsOf(`
      x = 2
      r1 = x / 3 = 0.667           # 0.6666..: rounded
      r2 = x / 3 = 0.666           # truncated
      r3 = x / 3 = 0.665           # neither
      r4 = x / 3 = 0.67            # two decimals: rounded
      n1 = -x / 3 = -0.667         # negative: rounded
      n2 = -x / 3 = -0.666         # truncated toward zero
      n3 = -x / 3 = -0.668         # neither
      e1 = x * 0.00061725 = 1.2e-3 # 0.0012345: one decimal of mantissa, unit 1e-4 -> rounded
      e2 = x * 0.00061725 = 1.3e-3
      e3 = x * 617 = 1.23e3        # 1234: unit 10 -> rounded
      e4 = x * 617 = 1.24e3
      i1 = x * 49.75 = 99          # 99.5: a tie rounds either way
      i2 = x * 49.75 = 100
      i3 = x * 49.75 = 99.4
      z1 = x / 100000 = 0.0000     # 0.00002: rounded to 4 decimals
      z2 = x - 2.00003 = 0.0000    # -0.00003 truncated toward zero
    `);
    expect(v).toEqual({
      r1: 'ok',
      r2: 'ok (truncated)',
      r3: 'wrong',
      r4: 'ok',
      n1: 'ok',
      n2: 'ok (truncated)',
      n3: 'wrong',
      e1: 'ok',
      e2: 'wrong',
      e3: 'ok',
      e4: 'wrong',
      i1: 'ok',
      i2: 'ok',
      i3: 'wrong',
      z1: 'ok',
      z2: 'ok',
    });
  });
  it('decides on the exact decimal value, not on its float64 neighbour', () => {
    // In float64 0.35 * 2 is 0.69999999999999995559 (which truncates to 0.6) and 1.005 is
    // 1.00499999999999989342 (which rounds to 1.00): the claims are about the decimals.
    const v = verdictsOf(`
      a = 0.35 * 2 = 0.6
      b = 0.35 * 2 = 0.7
      c = 1.005 * 1 = 1.01          # exactly half-way: either neighbour is correctly rounded
      d = 1.005 * 1 = 1.00
      e = 0.1 + 0.2 = 0.30000000000000004
      x = 3
      l = 0.7 * x
      dl/dx = 0.6                   # a derivative is computed in float64: 0.69999999999999995559 stands for 0.7
      m = 0.35 * x
      dm/dx = 0.4                   # 0.35 to one decimal is a tie
    `);
    expect(v).toEqual({ a: 'wrong', b: 'ok', c: 'ok', d: 'ok', e: 'wrong', 'dl/dx': 'wrong', 'dm/dx': 'ok' });
  });
  it('a float64 value a few units in its last place below a decimal is that decimal, for claims of 9 to 12 digits too', () => {
    // -39.40 * 87.21 is -3436.074 exactly; dl/ds = y is -3436.0739999999996 in float64, whose truncation to
    // 5 decimals would be -3436.07399 (found by the rounding rule's property test).
    const src = (c: string) => `p = -39.40\nq = 87.21\ns = 0.00\ny = p * q = -3436.074\nl = y * s\ndl/ds = ${c}`;
    expect(verdictsOf(src('-3436.07399'))['dl/ds']).toBe('wrong');
    expect(verdictsOf(src('-3436.07400'))['dl/ds']).toBe('ok');
  });
  it('counts the unit of the last written digit', () => {
    expect([unitOf('0.6570'), unitOf('2'), unitOf('1.5e-3'), unitOf('120')]).toEqual([1e-4, 1, 1e-4, 1]);
  });
});

describe('rounding is the line recomputed from the values as written, nothing looser', () => {
  it('a slip where the written input is its true value is wrong: y = 1.5 exactly, z = y * y = 2.26 or 2.35', () => {
    const v = verdictsOf(`
      x = 0.5
      y = 3 * x = 1.5
      z = y * y = 2.26     # true and recomputed from y = 1.5: 2.25
      w = y * y = 2.35
      a = y * y = 2.25
      b = y * y = 2.3      # 2.25 to one decimal: a tie, either way
      c = y * y = 2.2
      d = y * y = 2.4
    `);
    expect(v).toEqual({ y: 'ok', z: 'wrong', w: 'wrong', a: 'ok', b: 'ok', c: 'ok', d: 'wrong' });
    const r = backprop(['check', file('slip-probe.txt', 'x = 0.5\ny = 3 * x = 1.5\nz = y * y = 2.26\n')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/3 +z = y \* y +2\.26 +2\.25 +wrong\n +! should be 2\.25\n/);
    expect(r.stdout).toContain('2 claims: 1 ok, 0 rounding, 1 wrong; score 1/2');
  });

  it('a derivative one unit off the value its written inputs give is wrong: dl/df = -0.6637 where they give -0.6636', () => {
    // g = tanh(-0.7992) = -0.66358929..., written -0.6636; dl/df = g: true -0.66358929, from the written g -0.6636.
    const src = 'x = -0.7992\nf = 2\ng = tanh(x) = -0.6636\nl = f * g\ndl/df = -0.6637\nm = g * 1 = -0.6637\ndl/dg = 2\n';
    const { report } = checkSource(src);
    expect(report.verdicts.map((v) => [v.claim, v.verdict])).toEqual([
      ['g', 'ok'],
      ['dl/df', 'wrong'],
      ['m', 'wrong'],
      ['dl/dg', 'ok'],
    ]);
    expect(report.verdicts[1].note).toBe('should be -0.66358929 (from the values written: -0.6636)');
    // The same line as the student would write it from the rounded g: rounding.
    expect(verdictsOf(src.replace('dl/df = -0.6637', 'dl/df = -0.66360'))['dl/df']).toBe('rounding');
  });

  it('rounding when the written values give the claim exactly, in decimals: 0.286 * 7000 = 2002', () => {
    const v = verdictsOf('x = 2\na = x / 7 = 0.286\nb = a * 7000 = 2002\nc = a * 7000 = 2001\nd = a * 7000 = 2003\n');
    expect(v).toEqual({ a: 'ok', b: 'rounding', c: 'wrong', d: 'wrong' });
  });
});

describe("Mazur's example worked by hand (examples/mazur-by-hand.txt)", () => {
  it('every line ok or rounding as a 50-digit decimal re-derivation found them (true values, and each line from the values written)', () => {
    // The verdicts below come from Python's decimal module at 50 digits, not from this checker.
    const v = verdictsOf(readFileSync(join(repoRoot, 'examples/mazur-by-hand.txt'), 'utf8'));
    expect(v).toEqual({
      h1: 'ok',
      H1: 'ok',
      h2: 'ok',
      H2: 'ok',
      "o1'": 'ok',
      o1: 'ok',
      "o2'": 'ok',
      o2: 'ok',
      l: 'ok',
      'dl/do1': 'ok',
      'dl/do2': 'ok',
      "dl/do1'": 'ok',
      "dl/do2'": 'rounding',
      'dl/dw5': 'rounding',
      'dl/dw6': 'rounding',
      'dl/dw7': 'ok',
      'dl/dw8': 'rounding',
      'dl/db2': 'ok',
      'dl/dH1': 'rounding',
      'dl/dH2': 'rounding',
      'dl/dh1': 'rounding',
      'dl/dh2': 'rounding',
      'dl/dw1': 'rounding',
      'dl/dw2': 'rounding',
      'dl/dw3': 'rounding',
      'dl/dw4': 'rounding',
      'dl/db1': 'rounding',
      new_w1: 'ok',
      new_w2: 'ok',
      new_w3: 'ok',
      new_w4: 'ok',
      new_w5: 'ok',
      new_w6: 'ok',
      new_w7: 'ok',
      new_w8: 'ok',
      new_b1: 'ok',
      new_b2: 'rounding',
    });
    // His published numbers: E_total = 0.298371109, w5+ = 0.35891648, w1+ = 0.149780716.
    expect(readFileSync(join(repoRoot, 'examples/mazur-by-hand.txt'), 'utf8')).toMatch(
      /= 0\.298371109\n[\s\S]*new_w1 = .* = 0\.149780716\n[\s\S]*new_w5 = .* = 0\.358916480\n/,
    );
  });
});

describe('the rounding rule against BigInt arithmetic (fast-check)', () => {
  // y = p * q is claimed rounded or truncated to r decimals; z = y * s is then claimed as some
  // decimal C with k decimals, and so is dl/ds (l = y * s, so dl/ds = y). The oracle, with BigInt decimals and no code of the checker's:
  // ok iff C is the true z (p q s) rounded or truncated; else rounding iff C is (written y) * s
  // rounded or truncated; else wrong. When the written y is the true y, rounding never happens.
  const scaled = (n: bigint, from: number, to: number) => {
    // n / 10^from to `to` decimals: [truncated toward zero, rounded (or both neighbours on a tie)].
    if (to >= from) return [n * 10n ** BigInt(to - from)];
    const f = 10n ** BigInt(from - to),
      sign = n < 0n ? -1n : 1n,
      m = sign * n;
    const t = m / f,
      rest = m % f;
    const ups = 2n * rest > f ? [t + 1n] : 2n * rest === f ? [t + 1n, t] : [t];
    return [t, ...ups].map((x) => sign * x);
  };
  it('ok, rounding and wrong exactly as the rule says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -9999, max: 9999 }),
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: -999, max: 999 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.boolean(),
        fc.integer({ min: -2, max: 2 }),
        (p, q, s, r, k, truncateY, offset) => {
          const P = BigInt(p),
            Q = BigInt(q),
            S = BigInt(s);
          // p, q and s are written with 2 decimals: y has 4, z 6.
          const yTrue = P * Q;
          const yOptions = scaled(yTrue, 4, r);
          const yWritten = truncateY ? yOptions[0] : yOptions[yOptions.length - 1];
          const zTrue = scaled(yTrue * S, 6, k),
            zWritten = scaled(yWritten * S, r + 2, k);
          const candidates = [...zTrue, ...zWritten].flatMap((c) => [c + BigInt(offset), c]);
          const src = [`p = ${decimalText(P, 2)}`, `q = ${decimalText(Q, 2)}`, `s = ${decimalText(S, 2)}`, `y = p * q = ${decimalText(yWritten, r)}`];
          candidates.forEach((c, i) => src.push(`z${i} = y * s = ${decimalText(c, k)}`));
          const got = verdictsOf(src.join('\n'));
          const exactY = yWritten * 10n ** BigInt(4 - r) === yTrue;
          const lines = candidates.every((c, i) => {
            const want = zTrue.includes(c) ? 'ok' : zWritten.includes(c) ? 'rounding' : 'wrong';
            const verdict = (got[`z${i}`] ?? '').replace(' (truncated)', '');
            return verdict === want && !(exactY && verdict === 'rounding');
          });
          // A derivative written bare, in float64 on the tape: dl/ds = y, from one step downstream the written y.
          const dTrue = scaled(yTrue, 4, k),
            dWritten = scaled(yWritten, r, k);
          const derivatives = [...dTrue, ...dWritten]
            .flatMap((c) => [c + BigInt(offset), c])
            .every((c) => {
              const verdict = (verdictsOf([...src.slice(0, 4), 'l = y * s', `dl/ds = ${decimalText(c, k)}`].join('\n'))['dl/ds'] ?? '').replace(
                ' (truncated)',
                '',
              );
              const want = dTrue.includes(c) ? 'ok' : dWritten.includes(c) ? 'rounding' : 'wrong';
              return verdict === want && !(exactY && verdict === 'rounding');
            });
          return lines && derivatives;
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A decimal string of the integer v scaled by 10^-k: decimalText(-12345n, 3) = '-12.345'. */
function decimalText(v: bigint, k: number): string {
  const digits = (v < 0n ? -v : v).toString().padStart(k + 1, '0');
  const text = k > 0 ? `${digits.slice(0, -k)}.${digits.slice(-k)}` : digits;
  return v < 0n ? `-${text}` : text;
}

describe('the claim rule against string arithmetic (fast-check)', () => {
  // An independent oracle: a value v / 10^k, written out; its truncation to q decimals is the
  // string cut there, its rounding adds one unit when the next digits are 5 or more (half-way:
  // either is right). A claim one unit further off is wrong.
  const cases = fc.record({
    v: fc.bigInt({ min: -999_999n, max: 999_999n }),
    k: fc.integer({ min: 0, max: 4 }),
    q: fc.integer({ min: 0, max: 4 }),
    exponentForm: fc.boolean(),
  });
  it('ok, ok (truncated) and wrong as the digits say, for exact values and for float64 derivatives', () => {
    fc.assert(
      fc.property(cases, ({ v, k, q, exponentForm }) => {
        q = Math.min(q, k); // claim at most the digits the value has
        const scale = 10n ** BigInt(k - q);
        const sign = v < 0n ? -1n : 1n;
        const mag = sign * v;
        const truncated = sign * (mag / scale),
          rest = mag % scale;
        const tie = 2n * rest === scale,
          up = 2n * rest > scale;
        const rounded = up ? truncated + sign : truncated;
        const written = (w: bigint) => (exponentForm ? `${w}e-${q}` : decimalText(w, q));
        // Each claim twice: about a line's exact value, and about a derivative computed in float64.
        const src = ['x = 1'];
        const expected: Record<string, string> = {};
        const claim = (name: string, w: bigint, verdict: string) => {
          src.push(`${name} = ${decimalText(v, k)} * x = ${written(w)}`, `d${name}/dx = ${written(w)}`);
          expected[name] = expected[`d${name}/dx`] = verdict;
        };
        claim('r', rounded, 'ok');
        claim('t', truncated, up ? 'ok (truncated)' : 'ok');
        claim('w', truncated - sign, 'wrong'); // one unit toward (or across) zero
        claim('u', truncated + (rounded === truncated && !tie ? sign : 2n * sign), 'wrong'); // one unit past the rounded value
        const got = verdictsOf(src.join('\n'));
        return Object.entries(expected).every(([name, verdict]) => got[name] === verdict);
      }),
      { numRuns: 300 },
    );
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
    [
      'a derivative of a non-scalar',
      'A = [[1, 2]]\nB = A * 2\ndB/dA = 2\n',
      /nonscalar.txt:3: dB\/dA needs B to be a single number, but it has shape \[1,2\]$/,
    ],
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

  it('exits 2 for a file that cannot be read, saying why in words (no ENOENT, EISDIR, ENAMETOOLONG)', () => {
    const long = join(dir, 'a'.repeat(300) + '.txt');
    const cases: [string, RegExp][] = [
      [join(dir, 'nope.txt'), /^backprop: no such file: .*nope\.txt$/],
      [join(dir, 'nope', 'x.txt'), /^backprop: no such file: .*nope\/x\.txt$/],
      [dir, /^backprop: .* is a directory; check reads a derivation file/],
      [long, /^backprop: the file name is too long \(\d+ characters, or a part of it over 255\): .*\.\.\.$/],
    ];
    for (const [path, message] of cases) {
      const r = backprop(['check', path]);
      expect(r.code, path).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim(), path).toMatch(message);
      expect(r.stderr).not.toMatch(/\bE(NOENT|NOTDIR|ISDIR|NAMETOOLONG|ACCES)\b|\n\s+at /);
    }
  });
});

describe('second derivatives in derivation files', () => {
  // The paper's network in closed form: l = (o - y)², o = σ(o'), o' = b2 + H1 w5 + H2 w6, so
  // d²l/dw5 dwj = H1 Hj (2 σ'(o')² + 2 (o - y) σ''(o')), with σ' = o(1 - o) and σ'' = σ'(1 - 2o).
  const sigma = (x: number) => 1 / (1 + Math.exp(-x));
  const H1 = sigma(0.05 * 0.25 + 0.45 + 0.25 * 0.75),
    H2 = sigma(0.05 * 0.6 + 0.25 * 0.35);
  const o = sigma(0.65 + H1 * 0.55 + H2 * 0.65),
    s1 = o * (1 - o),
    s2 = s1 * (1 - 2 * o);
  const curvature = 2 * s1 * s1 + 2 * (o - 0.01) * s2;

  it('checks d2l/dw5^2 and d(dl/dw5)/dw6 against the closed form, and names a wrong one', () => {
    const verdicts = checkSource(readFileSync(example, 'utf8')).report.verdicts;
    const second = verdicts.filter((v) => /^d2l|^d\(dl/.test(v.claim));
    expect(second.map((v) => [v.claim, v.verdict])).toEqual([
      ['d2l/dw5^2', 'ok'],
      ['d(dl/dw5)/dw6', 'ok'],
    ]);
    expect(Number(second[0].computed)).toBeCloseTo(H1 * H1 * curvature, 8);
    expect(Number(second[1].computed)).toBeCloseTo(H1 * H2 * curvature, 8);
    const slip = file('second.txt', readFileSync(example, 'utf8').replace('d(dl/dw5)/dw6 = -0.03403', 'd(dl/dw5)/dw6 = -0.04224'));
    const r = backprop(['check', slip]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/d\(dl\/dw5\)\/dw6 +-0\.04224 +-0\.034030705 +wrong\n +! should be -0\.034030705/);
  });

  it('uses second derivatives in expressions, and refuses one of a derivative that is not a single number', () => {
    // y = x³ z: d²y/dx² = 6xz = 36, d²y/dx dz = 3x² = 27
    const v = verdictsOf('x = 3\nz = 2\ny = x^3 * z = 54\nd2y/dx^2 = 36\nc = d2y/dx^2 / 6 = 6\nd(dy/dx)/dz = 27');
    expect(v).toEqual({ y: 'ok', 'd2y/dx^2': 'ok', c: 'ok', 'd(dy/dx)/dz': 'ok' });
    expect(() => checkSource('x = 3\ny = x^3\nd2y/dx^2 = 18\nd(dy/dx)/dx = 18')).toThrow(/line 4: d\(dy\/dx\)\/dx is claimed twice \(first on line 3\)/);
    expect(() => checkSource('A = [1, 2]\nl = sum(A * A)\nd(dl/dA)/dA = 2')).toThrow(/d2l\/dA\^2 needs dl\/dA to be a single number, but A has shape \[2\]/);
  });
});
