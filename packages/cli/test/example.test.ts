// `backprop example`: worked examples and exercises for small networks, round-tripped through
// `backprop check`, against published numbers (Mazur's, the paper's), and graded.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activationNames } from '@backprop/mlp';
import { checkSource } from '@backprop/mlp/check';
import { exampleText, type ExampleArgs } from '../src/commands/example.ts';
import { exampleLosses } from '@backprop/mlp/example';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'example-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const example = (args: Partial<ExampleArgs>) => exampleText({ seed: 1, digits: 6, ...args });
/** The claimed value of each line after the givens, by its left side (`h1`, `dl/dw5`). */
const claims = (text: string) =>
  Object.fromEntries(
    text
      .slice(Math.max(0, text.indexOf('# forward pass')))
      .split('\n')
      .flatMap((l) => {
        const m = /^(\S+) = (?:.* = )?(-?[\d.e-]+|\[.*\]|\?)$/.exec(l.replace(/\s+#.*$/, ''));
        return m ? [[m[1], m[2]]] : [];
      }),
  );

describe('generated examples check ok, line by line', () => {
  for (const activation of activationNames) {
    for (const loss of exampleLosses) {
      it(`${activation}, ${loss}: 1, 2 and 3 hidden layers, unit by unit and as matrices, every claim ok`, () => {
        for (const layers of ['2,2,2', '3,2,3,2', '2,3,2,2,3']) {
          for (const matrix of [false, true]) {
            const text = example({ layers, activation, loss, matrix, seed: 7 });
            const { report } = checkSource(text);
            expect(report.verdicts.length).toBeGreaterThan(matrix ? 8 : 20);
            expect(
              report.verdicts.filter((v) => v.verdict !== 'ok'),
              `${layers} ${matrix ? 'matrix' : ''}`,
            ).toEqual([]);
            expect(report.counts.wrong).toBe(0);
          }
        }
      });
    }
  }

  it("for random architectures, activations (the output's too), losses, seeds and digits (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 5 }),
        fc.constantFrom(...activationNames),
        fc.constantFrom(...exampleLosses),
        fc.option(fc.constantFrom('linear' as const, ...activationNames), { nil: undefined }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        (sizes, activation, loss, output, seed, digits, matrix) => {
          if ((loss === 'hinge' || loss === 'ce') && sizes[sizes.length - 1] < 2) sizes.push(2);
          const { report } = checkSource(example({ layers: sizes.join(','), activation, loss, output, seed, digits, matrix }));
          expect(report.verdicts.every((v) => v.verdict === 'ok')).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes every value in the order a person computes it: forward, loss, backward layer by layer, updates', () => {
    const text = example({ layers: '2,2,1' });
    const order = Object.keys(claims(text));
    expect(order).toEqual([
      'h1',
      'H1',
      'h2',
      'H2',
      "o'",
      'o',
      'l',
      'dl/do',
      "dl/do'",
      'dl/dw5',
      'dl/dw6',
      'dl/db3',
      'dl/dH1',
      'dl/dH2',
      'dl/dh1',
      'dl/dh2',
      'dl/dw1',
      'dl/dw2',
      'dl/dw3',
      'dl/dw4',
      'dl/db1',
      'dl/db2',
      'new_w1',
      'new_w2',
      'new_w3',
      'new_w4',
      'new_w5',
      'new_w6',
      'new_b1',
      'new_b2',
      'new_b3',
    ]);
    expect(text).toContain('\nh1 = I1*w1 + I2*w3 + b1 = ');
    expect(text).toContain("\ndl/dw5 = dl/do' * H1 = ");
    expect(text).toMatch(/\nH1 = sigmoid\(h1\) = 0\.[1-9]\d{5}\n/); // 6 significant digits
    expect(example({ layers: '2,2,1', seed: 2 })).not.toBe(text);
    expect(example({ layers: '2,2,1' })).toBe(text); // the same seed, the same file
  });

  it("the matrix form holds the same numbers as the unit-by-unit one (W1[i][j] is w(2i + j + 1) in the paper's numbering)", () => {
    const units = claims(example({ layers: '2,2,1', activation: 'tanh' }));
    const matrices = claims(example({ layers: '2,2,1', activation: 'tanh', matrix: true }));
    expect(matrices['H1']).toBe(`[[${units['H1']}, ${units['H2']}]]`);
    expect(matrices['dl/dW1']).toBe(`[[${units['dl/dw1']}, ${units['dl/dw2']}], [${units['dl/dw3']}, ${units['dl/dw4']}]]`);
    expect(matrices['dl/dW2']).toBe(`[[${units['dl/dw5']}], [${units['dl/dw6']}]]`);
    expect(matrices['new_b1']).toBe(`[${units['new_b1']}, ${units['new_b2']}]`);
    expect(matrices['l']).toBe(units['l']);
  });
});

describe('published examples', () => {
  it("regenerates Matt Mazur's 2-2-2 example with his numbers (--values, half-sse)", () => {
    const r = backprop(['example', '--values', 'examples/mazur.json', '--activation', 'sigmoid', '--loss', 'half-sse', '--lr', '0.5', '--digits', '9']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = claims(r.stdout);
    // "A Step by Step Backpropagation Example": E_total = 0.298371109, w5+ = 0.35891648, w1+ = 0.149780716.
    expect(c['l']).toBe('0.298371109');
    expect(c['new_w5']).toBe('0.358916480');
    expect(c['new_w1']).toBe('0.149780716');
    expect(c['o1']).toBe('0.751365070'); // out_o1 = 0.75136507
    expect(r.stdout).toContain('\nh1 = I1*w1 + I2*w2 + b1 = 0.377500000\n'); // his numbering: w2 is i2 -> h1, b1 shared
  });

  it("--from-paper writes the paper's Figures 3-4, every number of which the paper's rounding explains", () => {
    const c = claims(example({ 'from-paper': true }));
    const paper = claims(readFileSync(join(repoRoot, 'examples/paper-worked-example.txt'), 'utf8'));
    // The paper truncates some values (H2 = 0.5293 for 0.529341) and carries rounded values on (o' adds
    // H1 = 0.6570, ...): its numbers are within a unit of their last digit, or 5e-5 of their size, of ours.
    for (const name of ['h1', 'H1', 'h2', 'H2', "o'", 'o', 'dl/do', "dl/do'", 'dl/dw5', 'dl/dw6', 'new_w5', 'new_w6']) {
      const unit = 10 ** -(paper[name].split('.')[1] ?? '').length;
      expect(Math.abs(Number(c[name]) - Number(paper[name])), name).toBeLessThanOrEqual(Math.max(unit, 5e-5 * Number(paper[name])));
    }
    expect(c['dl/dw5']).toBe('0.168104');
    expect(c['new_w5']).toBe('0.465948');
    expect(c['h2']).toBe('0.117500'); // h2 has no bias
  });
});

describe('exercises', () => {
  const worked = example({ layers: '2,2,1', activation: 'relu', seed: 4 });
  const exercise = example({ layers: '2,2,1', activation: 'relu', seed: 4, exercise: true });

  it('leave every claim blank, and check prints the value each blank should have', () => {
    const path = join(dir, 'exercise.txt');
    writeFileSync(path, exercise);
    const r = backprop(['check', path]);
    expect(r.code).toBe(0);
    const expected = claims(worked);
    expect(Object.values(claims(exercise)).every((v) => v === '?')).toBe(true);
    expect(Object.keys(claims(exercise))).toEqual(Object.keys(expected));
    expect(r.stdout).toContain(`${Object.keys(expected).length} blanks: the computed column holds the value each should have`);
    const { report } = checkSource(exercise);
    for (const v of report.verdicts) {
      expect(v.verdict).toBe('blank');
      expect(Number(v.computed).toPrecision(6), v.claim).toBe(Number(expected[v.claim]).toPrecision(6));
    }
  });

  it("hide what would give an answer away (relu's slope), and say the rule instead", () => {
    expect(exercise).toMatch(/\ndl\/dh1 = \?   # relu'\(h1\) is 1 for h1 > 0, 0 otherwise\n/);
    expect(worked).toMatch(/\ndl\/dh1 = (dl\/dH1 = -?\d\.\d+   # h1 > 0: relu' = 1|0\.00000   # h1 <= 0: relu' = 0)\n/);
  });

  it('grade a filled-in copy line by line: ok, rounding for rounded values carried on, wrong for a slip, with a score', () => {
    const c = claims(worked);
    // A student: 4 digits; one slip: dl/dw6 with H1 for H2, and new_w6 right from it.
    const w6 = Number(/\nw6 = (\S+)\n/.exec(worked)![1]);
    const slip = Number(c["dl/do'"]) * Number(c['H1']);
    const filled = exercise
      .split('\n')
      .map((line) => {
        const m = /^(\S+) = (.* = )?\?(.*)$/.exec(line);
        if (!m) return line;
        let value = Number(c[m[1]]).toPrecision(4);
        if (m[1] === 'dl/dw6') value = slip.toPrecision(4);
        if (m[1] === 'new_w6') value = (w6 - 0.5 * Number(slip.toPrecision(4))).toPrecision(4);
        return `${m[1]} = ${m[2] ?? ''}${value}${m[3]}`;
      })
      .join('\n');
    const path = join(dir, 'attempt.txt');
    writeFileSync(path, filled);
    const r = backprop(['check', path, '--json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    const wrong = json.verdicts.filter((v: { verdict: string }) => v.verdict === 'wrong');
    expect(wrong.map((v: { claim: string }) => v.claim)).toEqual(['dl/dw6']);
    expect(json.counts.blank).toBe(0);
    expect(json.score).toEqual({ right: json.verdicts.length - 1, of: json.verdicts.length });
    // new_w6 uses the wrong dl/dw6 correctly: rounding, not a second slip.
    expect(json.verdicts.find((v: { claim: string }) => v.claim === 'new_w6').verdict).toBe('rounding');
    const text = backprop(['check', path]);
    expect(text.stdout).toMatch(/\n\d+ claims: \d+ ok, \d+ rounding, 1 wrong; score (\d+)\/(\d+)\n/);
  });

  it("examples/exercise-attempt.txt (the README's graded attempt) is today's exercise, filled in", () => {
    const attempt = readFileSync(join(repoRoot, 'examples/exercise-attempt.txt'), 'utf8').split('\n');
    expect(attempt[0]).toMatch(/^# A student's filled-in copy of the exercise of `(backprop example .*)`\.$/);
    const args = /`backprop example (.*)`/.exec(attempt[0])![1];
    expect(args).toBe('--layers 2,2,1 --seed 1 --digits 4 --exercise');
    const today = example({ layers: '2,2,1', digits: 4, exercise: true }).split('\n');
    expect(attempt.length - 1).toBe(today.length);
    // Line for line the exercise, with a number where it has a blank.
    const blanked = attempt.slice(1).map((line, i) => (today[i].includes(' = ?') ? line.replace(/ = -?[\d.]+(e-?\d+)?(\s+#.*)?$/, ' = ?$2') : line));
    expect(blanked).toEqual(today);
    expect(attempt.slice(1).filter((l, i) => l !== today[i]).length).toBe(31); // every blank filled
  });

  it('--explain walks the backward pass of a generated file', () => {
    const path = join(dir, 'worked.txt');
    writeFileSync(path, worked);
    const r = backprop(['check', path, '--explain', 'dl/dw1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('backward pass for dl/dw1, from l back to w1');
    expect(Number(/dl\/dw1 = (\S+)\s*$/.exec(r.stdout)![1]).toPrecision(6)).toBe(Number(claims(worked)['dl/dw1']).toPrecision(6));
  });
});

describe('bad flags and values: one line naming the problem', () => {
  const values = (name: string, json: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(json));
    return path;
  };
  const mazur = JSON.parse(readFileSync(join(repoRoot, 'examples/mazur.json'), 'utf8'));
  const cases: [string, Partial<ExampleArgs>, RegExp][] = [
    ['digits out of range', { digits: 20 }, /^--digits 20: expected a whole number from 1 to 12/],
    ['a classifier with one output', { layers: '2,2,1', loss: 'hinge' }, /^--loss hinge: a classifier needs at least 2 outputs/],
    ['a network too big to work by hand', { layers: '784,10' }, /^--layers 784,10: 7840 weights are too many to work by hand/],
    ['the paper with another loss', { 'from-paper': true, loss: 'hinge' }, /^--from-paper: the paper's example has --loss mse, not hinge/],
    ['the paper in matrix form (h2 has no bias)', { 'from-paper': true, matrix: true }, /^--matrix: layer 1 has a bias on some of its units only/],
    [
      'values: too few weights',
      { values: values('few.json', { ...mazur, weights: [0.1, 0.2] }) },
      /field "weights": 2 weights for a 2-2-2 network, which has 8$/,
    ],
    ['values: a field of the wrong type', { values: values('field.json', { ...mazur, inputs: 'x' }) }, /field "inputs": /],
    [
      'values: a field it does not know',
      { values: values('extra.json', { ...mazur, weight: [] }) },
      /: Unrecognized key: "weight" \(the fields are layers, inputs, weights, biases, targets, class and numbering\)$/,
    ],
    ['values: no class for hinge', { values: values('class.json', mazur), loss: 'hinge' }, /field "class": the hinge loss needs the target class, 1 to 2$/],
    [
      'values: a matrix of the wrong shape',
      { values: values('shape.json', { inputs: [1, 2], weights: [[[1, 2]]], targets: [0, 1] }) },
      /field "weights.0": expected a 2x2 matrix/,
    ],
    [
      'values: so large that float64 overflows',
      { values: values('huge.json', { layers: [1, 1], inputs: [1e200], weights: [1e200], targets: [1] }) },
      /^o' comes out Infinity in float64: the inputs or weights are too large for this network; choose smaller ones$/,
    ],
    ['values: not JSON', { values: join(repoRoot, 'README.md') }, /not valid JSON/],
    ['values: no file', { values: join(dir, 'none.json') }, /cannot read: no such file or directory$/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      expect(() => example(args)).toThrow(message);
    });
  }

  it('from the command line: exit status 2, one line on stderr, and no file written', () => {
    const out = join(dir, 'never.txt');
    const r = backprop(['example', '--values', values('few2.json', { ...mazur, weights: [0.1] }), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^backprop: --values .*few2\.json: field "weights": 1 weights for a 2-2-2 network, which has 8$/),
    ]);
    expect(existsSync(out)).toBe(false);
  });
});
