/**
 * `backprop check` on large and adversarial files: long chains of lines, long lines, deep nesting,
 * names that JavaScript objects already have. Values are compared with ones computed here, in
 * plain float64 in the same order, not just checked for "no exception".
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource, formatValue, MAX_NESTING } from '@backprop/mlp/check';
import { table } from '../src/format.ts';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Op = '+' | '-' | '*';
const step = (v: number, op: Op, c: number) => (op === '+' ? v + c : op === '-' ? v - c : v * c);
const constant = fc.constantFrom(0.5, 0.999, 1.0001, 1.25, 2, 0.75);
const link = fc.tuple(fc.constantFrom<Op>('+', '-', '*'), constant);

/**
 * A chain x0 = 0.5, x_i = x_{i-1} op c_i, its last value and dx_n/dx0 computed here: backward from
 * the end, each * multiplies the gradient by its constant (as the tape's mul does, g * b).
 */
function chain(links: [Op, number][]) {
  const lines = ['x0 = 0.5'];
  let value = 0.5,
    grad = 1;
  links.forEach(([op, c], i) => {
    lines.push(`x${i + 1} = x${i} ${op} ${c}`);
    value = step(value, op, c);
  });
  for (let i = links.length - 1; i >= 0; i--) if (links[i][0] === '*') grad *= links[i][1];
  return { lines, value, grad, last: `x${links.length}` };
}

describe('long chains, long lines and deep expressions (fast-check)', () => {
  it('a chain of up to 5,000 lines: the last value and dx_n/dx0 as computed independently', () => {
    fc.assert(
      fc.property(fc.array(link, { minLength: 1, maxLength: 5000, size: 'max' }), fc.boolean(), (links, right) => {
        const c = chain(links);
        // Written as toPrecision gives it: 1.02410e+6 has six significant digits, 1024100 has seven.
        const claim = (right ? c.grad : 2 * c.grad + 1).toPrecision(6);
        const { derivation: d, report } = checkSource([...c.lines, `d${c.last}/dx0 = ${claim}`].join('\n'));
        expect(d.values.get(c.last)!.item()).toBe(c.value);
        expect(d.exactDeriv(c.last, 'x0', 0).item()).toBeCloseTo(c.grad, 12);
        expect(report.verdicts.map((v) => v.verdict)).toEqual([right ? 'ok' : 'wrong']);
      }),
      { numRuns: 12 },
    );
  });

  it('one line of up to 5,000 terms: the value summed left to right', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom<Op>('+', '-'), constant), { minLength: 1, maxLength: 5000, size: 'max' }), (terms) => {
        const value = terms.reduce((v, [op, c]) => step(v, op, c), 0.5);
        const { derivation: d } = checkSource(`s = 0.5 ${terms.map(([op, c]) => `${op} ${c}`).join(' ')}`);
        expect(d.values.get('s')!.item()).toBe(value);
      }),
      { numRuns: 12 },
    );
  });

  // A wrapper and what it does to the value; each nests one or two levels.
  const wrappers: [(e: string, c: number) => string, (v: number, c: number) => number][] = [
    [(e, c) => `(${e} + ${c})`, (v, c) => v + c],
    [(e, c) => `(${c} - ${e})`, (v, c) => c - v],
    [(e, c) => `(${e}) * ${c}`, (v, c) => v * c],
    [(e, c) => `${e} / ${c}`, (v, c) => v / c],
    [(e) => `-(${e})`, (v) => -v],
    [(e) => `abs(${e})`, (v) => Math.abs(v)],
    [(e, c) => `max(${e}, ${c})`, (v, c) => Math.max(v, c)],
    [(e, c) => `min(${c}, ${e})`, (v, c) => Math.min(c, v)],
  ];
  it(`expressions nested up to ${MAX_NESTING} levels: the value as computed independently`, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: wrappers.length - 1 }), constant), { maxLength: MAX_NESTING / 2 - 1, size: 'max' }), (wraps) => {
        let text = 'x',
          value = 0.5;
        for (const [w, c] of wraps) {
          text = wrappers[w][0](text, c);
          value = wrappers[w][1](value, c);
        }
        const { derivation: d } = checkSource(`x = 0.5\ny = ${text}`);
        expect(d.values.get('y')!.item()).toBe(value);
      }),
      { numRuns: 30 },
    );
  });
});

describe('backprop check on large and adversarial files', () => {
  it('finds a wrong derivative at the end of a 5,000-line chain (it overflowed the stack)', () => {
    const c = chain(Array.from({ length: 5000 }, (_, i): [Op, number] => (i % 3 === 0 ? ['*', 1.0001] : i % 3 === 1 ? ['+', 0.25] : ['-', 0.125])));
    const path = join(dir, 'chain.txt');
    writeFileSync(path, [...c.lines, `d${c.last}/dx0 = 7`, ''].join('\n'));
    const r = backprop(['check', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`5002 +dx5000/dx0 +7 +${formatValue([c.grad]).slice(1, -1).replace('.', '\\.')} +wrong\\n +! should be `));
  });

  it(`refuses an expression nested deeper than ${MAX_NESTING} levels with file:line (5,000 parentheses overflowed the stack)`, () => {
    const path = join(dir, 'deep.txt');
    writeFileSync(path, `x = 0.5\ny = ${'('.repeat(5000)}x${')'.repeat(5000)}\n`);
    const r = backprop(['check', path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`backprop: ${path}:2: the expression nests too deep: more than ${MAX_NESTING} levels of parentheses, calls, signs or powers\n`);
    // At the limit it is evaluated.
    const nested = (n: number, open: string, close: string) => `x = -0.5\ny = ${open.repeat(n)}x${close.repeat(n)}`;
    expect(
      checkSource(nested(MAX_NESTING - 1, 'abs(', ')'))
        .derivation.values.get('y')!
        .item(),
    ).toBe(0.5);
    expect(() => checkSource(nested(MAX_NESTING, 'abs(', ')'))).toThrow(/line 2: the expression nests too deep/);
    expect(() => checkSource(`x = ${'['.repeat(3)}1${']'.repeat(3)}`)).toThrow(/line 1: matrix literals hold numbers only, in at most two levels of brackets/);
  });

  it('prints a table of 300,000 rows (spreading the rows into Math.max overflowed the stack)', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [String(i), i === 123_456 ? 'the widest cell' : 'x']);
    const lines = table(['line', 'claim'], rows, ['r']).split('\n');
    expect(lines).toHaveLength(300_002);
    expect(lines[0]).toBe('  line  claim');
    expect(lines[2 + 123_456]).toBe('123456  the widest cell');
  });
});

describe('names JavaScript objects already have', () => {
  it('constructor, toString, __proto__, hasOwnProperty and valueOf are ordinary names', () => {
    const { report, derivation: d } = checkSource(
      [
        'constructor = 1',
        'toString = 2',
        '__proto__ = 3',
        'hasOwnProperty = 4',
        'valueOf = 5',
        'z = constructor + toString + __proto__ + hasOwnProperty * valueOf = 26',
        'dz/d__proto__ = 1',
      ].join('\n'),
    );
    expect(report.verdicts.map((v) => [v.claim, v.verdict])).toEqual([
      ['z', 'ok'],
      ['dz/d__proto__', 'ok'],
    ]);
    expect(d.values.get('__proto__')!.item()).toBe(3);
  });

  it('are not functions: constructor(x) is an unknown function, as is a(x) for a name a', () => {
    expect(() => checkSource('x = 1\ny = constructor(x) = 1')).toThrow(/^line 2: unknown function 'constructor' \(the functions are sigmoid, tanh, /);
    expect(() => checkSource('x = 1\ntoString = 2\ny = toString(x)')).toThrow(/^line 3: unknown function 'toString'/);
    // a(x) read as a alone, (x) silently dropped, was another silently wrong number.
    expect(() => checkSource('a = 2\nx = 3\ny = a(x) = 2')).toThrow(/^line 3: unknown function 'a'/);
  });

  it('numbers float64 cannot hold are refused, not turned into Infinity or 0', () => {
    expect(() => checkSource('x = 1e999')).toThrow(/^line 1: the number 1e999 is too large for float64/);
    expect(() => checkSource('x = 1\ny = x * 1e-400 = 0')).toThrow(/^line 2: the number 1e-400 is too small for float64 \(it would be 0\)/);
  });
  it('a subnormal number is refused for the precision it lacks, not for its exponent; too many digits for the fractions likewise', () => {
    // 1e-310 * 2^1074 = 2.0e13: 45 significant bits are left of float64's 53.
    expect(() => checkSource('x = 1e-310')).toThrow(
      /^line 1: the number 1e-310 is below float64's normal range \(about 2\.2e-308\), where it holds only 45 of its 53 significant bits/,
    );
    expect(() => checkSource('x = -4.9e-324')).toThrow(/holds only 1 of its 53 significant bits/);
    // The smallest normal numbers are fine, with float64's 17 significant digits.
    expect(checkSource('x = 2.2250738585072014e-308\ny = x * 2 = 4.4501477170144028e-308').report.verdicts[0].verdict).toBe('ok');
    expect(() => checkSource(`x = 1.${'0'.repeat(340)}3`)).toThrow(
      /^line 1: the number 1\.000000000000000\.\.\. has more digits than the checker holds exactly \(fractions of up to 1,100 bits/,
    );
  });
});
