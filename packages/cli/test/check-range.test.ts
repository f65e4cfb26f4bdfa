// `backprop check` where float64 overflows or underflows: true claims are ok (the line evaluated
// with an unbounded exponent, check/wide.ts), false ones wrong, and what cannot be evaluated is
// "cannot decide", never "wrong".
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource } from '@backprop/mlp/check';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-range-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const verdictsOf = (src: string) => Object.fromEntries(checkSource(src).report.verdicts.map((v) => [v.claim, v.verdict]));

describe('lines float64 cannot evaluate', () => {
  it('true claims are ok and false ones wrong: log(sigmoid(-800)) = -800, exp(x) / exp(x) = 1, sqrt(x^4 1e300) = 6.4e155', () => {
    // log(sigmoid(x)) = x - log(1 + e^x) = -800 - 3.7e-348 at x = -800; x^4 1e300 = 4.096e311.
    const v = verdictsOf(`
      x = -800
      y = log(sigmoid(x)) = -800
      z = exp(x) / exp(x) = 1
      w = sqrt(x*x*x*x*1e300) = 6.4e155
      u = exp(x) * 1e300 = 3.668e-48        # e^-800 = 3.6678e-348: 0 in float64, which made 0 * 1e300
      v = y * 2 = -1600                     # a line using a value float64 got wrong (-Infinity)
      y2 = log(sigmoid(x)) = -801
      z2 = exp(x) / exp(x) = 2
      w2 = sqrt(x*x*x*x*1e300) = 6.5e155
      u2 = exp(x) * 1e300 = 3.669e-48
      v2 = y * 2 = -1601
      g0 = 2.718281828459045
      g1 = -2789
      f = log(sigmoid(g1) / log(g0)) = -2789 # the fuzzed line: log(e^-2789 / 1)
      f2 = log(sigmoid(g1) / log(g0)) = -2788
    `);
    expect(v).toEqual({
      y: 'ok',
      z: 'ok',
      w: 'ok',
      u: 'ok',
      v: 'ok',
      f: 'ok',
      y2: 'wrong',
      z2: 'wrong',
      w2: 'wrong',
      u2: 'wrong',
      v2: 'wrong',
      f2: 'wrong',
    });
  });

  it('a derivative through such a line cannot be decided: said so, counted apart, not scored, exit 0', () => {
    const path = join(dir, 'overflow.txt');
    writeFileSync(path, 'x = -800\ny = log(sigmoid(x)) = -800\nv = 2 * y = -1600\ndy/dx = 1\ndv/dx = 2\n');
    const r = backprop(['check', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /4 +dy\/dx +1 +NaN +cannot decide\n +\? cannot decide: float64 cannot hold a step of y \(line 2\), and derivatives are computed in float64\n/,
    );
    expect(r.stdout).toMatch(/5 +dv\/dx +2 +NaN +cannot decide\n +\? cannot decide: float64 cannot hold y \(line 2\)/);
    expect(r.stdout).toContain('4 claims: 2 ok, 0 rounding, 0 wrong, 2 cannot decide (not scored); score 2/2');
    const json = JSON.parse(backprop(['check', path, '--json']).stdout);
    expect(json.counts).toEqual({ ok: 2, rounding: 0, wrong: 0, blank: 0, undecided: 2 });
    expect(json.score).toEqual({ right: 2, of: 2 });
  });

  it('a blank gets the value past float64 too, or says it cannot be computed', () => {
    const { report } = checkSource('x = -800\ny = log(sigmoid(x)) = ?\ndy/dx = ?\nz = y * 3 = ?\n');
    expect(report.verdicts.map((v) => [v.claim, v.computed, v.note])).toEqual([
      ['y', '-800', undefined],
      ['dy/dx', '?', 'cannot compute it: float64 cannot hold y (line 2)'],
      ['z', '-2400', undefined],
    ]);
  });

  it('a derivative of a value that is not finite, or not finite from the values written, is judged, not a raw tape error', () => {
    // Before: "backward: the output is Infinity; create the tape with { checkFinite: true }..." and exit 2.
    const overflow = join(dir, 'inf.txt');
    writeFileSync(overflow, 'x = 710\ny = exp(x) * exp(x)\ndy/dx = 1\n');
    const r = backprop(['check', overflow]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/3 +dy\/dx +1 +NaN +cannot decide\n/);
    // A second derivative whose first is not finite (sqrt at 0) likewise.
    expect(verdictsOf('x = 0\ny = sqrt(x)\nd2y/dx^2 = 1\n')).toEqual({ 'd2y/dx^2': 'undecided' });
    // v0 is 1, written 0 (wrong): recomputed from it, log(g0 / tanh(0)) is not finite.
    const v = verdictsOf('g0 = 710\nv0 = 1 + 0 = 0\nv2 = log(g0 / tanh(v0)) = 7.0\ndv2/dg0 = 0.0015\n');
    expect(v).toEqual({ v0: 'wrong', v2: 'wrong', 'dv2/dg0': 'wrong' }); // true 6.8382 and 1/710 = 0.0014085
  });

  it('past even the wide range: e^-1e150 is 0 where it is added or multiplied, and undecided where it is divided by', () => {
    const { report } = checkSource(
      'x = -1e150\na = exp(x) = 0\nb = sigmoid(x) = 0\nc = sigmoid(-x) = 1\nd = 2 + exp(x) * 1e300 = 2\ne = exp(x) / exp(x) = 1\nf = log(sigmoid(x)) = -1e150\ng = exp(-x) = 1\n',
    );
    expect(report.verdicts.map((v) => [v.claim, v.verdict])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
      ['c', 'ok'],
      ['d', 'ok'],
      ['e', 'undecided'],
      ['f', 'undecided'],
      ['g', 'undecided'],
    ]);
  });

  it('a value with no number past float64 either stays wrong: log(-1), sqrt(-4)', () => {
    expect(verdictsOf('x = -1\na = log(x) = 0\nb = sqrt(4 * x) = 2')).toEqual({ a: 'wrong', b: 'wrong' });
  });

  it("identities past float64 hold as written, to the claim's last digit (fast-check)", () => {
    // For |x| past 710, e^x overflows or underflows float64. The true values: log(exp(x)) = x,
    // exp(x) exp(-x) = 1, log(sqrt(exp(x))) = x / 2, log(sigmoid(-|x|)) = -|x| - log(1 + e^-|x|),
    // within 1e-300 of -|x|. A claim of the value to its digits is ok, one unit off is wrong.
    fc.assert(
      fc.property(
        fc.integer({ min: 710_000, max: 50_000_000 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(-1, 1),
        (milli, negative, decimals, off) => {
          const x = (negative ? -milli : milli) / 1000;
          const written = (v: number, k = decimals) => v.toFixed(k);
          const claims: [string, string, number][] = [
            ['a', 'log(exp(x))', x],
            ['b', 'exp(x) * exp(-x)', 1],
            ['c', 'log(sqrt(exp(x)))', x / 2],
            ['e', 'log(sigmoid(-abs(x)))', -Math.abs(x)],
          ];
          const src = [`x = ${written(x, 3)}`];
          const want: Record<string, string> = {};
          for (const [name, expr, value] of claims) {
            // x / 2 has up to 4 decimals: claimed to at most 4, rounded half away (a tie is ok either way).
            const k = name === 'c' ? Math.min(decimals + 1, 4) : decimals;
            const exact = Number(written(value, 4));
            const right = written(exact, k),
              unit = 10 ** -k;
            src.push(`${name} = ${expr} = ${right}`, `${name}2 = ${expr} = ${written(Number(right) + off * 2 * unit, k)}`);
            want[name] = 'ok';
            want[`${name}2`] = 'wrong';
          }
          expect(verdictsOf(src.join('\n'))).toEqual(want);
        },
      ),
      { numRuns: 100 },
    );
  });
});
