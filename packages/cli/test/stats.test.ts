// The statistics over seeds against hand-computed values, and findings judged with them.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/experiments/define.ts';
import { ALPHA, judgeFinding } from '../src/experiments/findings.ts';
import type { PlannedRun } from '../src/experiments/plan.ts';
import type { RunData, RunGroup } from '../src/experiments/runs.ts';
import { equivalenceTest, mean, pairedTTest, sd, tTest } from '../src/experiments/stats.ts';

/** P(T > t) for Student's t with 2 degrees of freedom, in closed form: 1/2 - t / (2 sqrt(2 + t^2)). */
const upper2 = (t: number) => 0.5 - t / (2 * Math.sqrt(2 + t * t));

describe('statistics over seeds', () => {
  it('mean and sample standard deviation', () => {
    expect(mean([0.975, 0.973, 0.976])).toBeCloseTo(0.974666666667, 12);
    // deviations 1/3000, -5/3000, 4/3000: sum of squares 42 / 9e6, over n - 1 = 2
    expect(sd([0.975, 0.973, 0.976])).toBeCloseTo(Math.sqrt(21 / 9e6), 15);
    expect(sd([0.5])).toBe(0);
  });

  it('paired t-test, one-sided: differences 0.007, 0.004, 0.009 give t = 4.588 and p = 0.0222 at 2 degrees of freedom', () => {
    const r = pairedTTest([0.975, 0.973, 0.976], [0.968, 0.969, 0.967]);
    // mean 0.02/3, sd sqrt(19/3) x 1e-3, se = sd / sqrt 3: t = (0.02/3) / (sqrt(19)/3 x 1e-3) = 20 / sqrt(19)
    expect(r.t).toBeCloseTo(20 / Math.sqrt(19), 9);
    expect(r.df).toBe(2);
    expect(r.p).toBeCloseTo(upper2(20 / Math.sqrt(19)), 9);
    expect(r.p).toBeCloseTo(0.022182, 6);
    // One seed against the rest: differences 0.007, -0.003, 0.009 (t = 1.168, p = 0.182): not significant.
    const weak = pairedTTest([0.975, 0.966, 0.976], [0.968, 0.969, 0.967]);
    expect(weak.p).toBeCloseTo(upper2(weak.t), 9);
    expect(weak.p).toBeCloseTo(0.1817, 4);
  });

  it('no spread: a difference the same at every seed is certain (p 0), no difference at all is not (p 1)', () => {
    expect(tTest([0.01, 0.01, 0.01], 0, 'greater')).toEqual({ t: Infinity, df: 2, p: 0 });
    expect(tTest([0.01, 0.01, 0.01], 0, 'less').p).toBe(1);
    expect(tTest([0, 0, 0], 0, 'greater').p).toBe(1);
    expect(() => tTest([0.5], 0, 'greater')).toThrow('a t-test needs two values or more, got 1');
  });

  it('two one-sided tests for "within a tolerance": p is the larger of the two', () => {
    // 99.40%, 99.50%, 99.45% against 99.31% +- 0.5 points: mean 99.45%, se 0.05/sqrt 3 points.
    const xs = [0.994, 0.995, 0.9945];
    const r = equivalenceTest(xs, 0.9931, 0.005);
    const se = 0.0005 / Math.sqrt(3);
    const tUpper = (0.9945 - 0.9981) / se; // against 99.81%: the closer bound decides
    expect(r.t).toBeCloseTo(tUpper, 6);
    expect(r.p).toBeCloseTo(upper2(-tUpper), 9);
    expect(r.p).toBeCloseTo(0.0032, 4);
  });
});

/** A run at a seed that ended with `test` accuracy (train 1 point higher). */
const run = (id: string, seed: number, test: number, status: RunData['status'] = 'done', losses: number[] = [9, 8]): RunData => ({
  run: { experiment: 'x', id, label: id, seed } as PlannedRun,
  status,
  losses,
  epochs: status === 'pending' ? [] : [{ epoch: 1, train: test + 0.01, test, trainLoss: 0, testLoss: 0, seconds: 1 }],
});
const group = (id: string, tests: number[], status?: RunData['status']): RunGroup => ({ id, label: id, runs: tests.map((t, i) => run(id, i + 1, t, status)) });
const judge = (f: Omit<Finding, 'text'>, groups: RunGroup[], paper?: Record<string, { train: number; test: number }>) =>
  judgeFinding({ text: 'the claim', ...f }, new Map(groups.map((g) => [g.id, g])), paper);

describe('findings judged over seeds (one-sided paired t-test, p < 0.05)', () => {
  const a = group('a', [0.975, 0.973, 0.976]),
    b = group('b', [0.968, 0.969, 0.967]);
  const aWeak = group('a', [0.975, 0.966, 0.976]);

  it('reproduced when the means show it and the test supports it; not decided when the test does not; not reproduced when the means contradict it', () => {
    expect(ALPHA).toBe(0.05);
    const yes = judge({ type: 'order', runs: ['a', 'b'] }, [a, b]);
    expect(yes.verdict).toBe('reproduced');
    expect(yes.detail).toBe('test, mean ± sd over 3 seeds: a 97.47% ± 0.15, b 96.80% ± 0.10; one-sided paired t-test: a > b p = 0.022');
    expect(judge({ type: 'order', runs: ['a', 'b'] }, [aWeak, b]).verdict).toBe('not decided at 3 seeds');
    expect(judge({ type: 'order', runs: ['b', 'a'] }, [a, b]).verdict).toBe('not reproduced');
    expect(judge({ type: 'order', runs: ['a', 'b'], split: 'train' }, [a, b]).detail).toMatch(/^train, mean ± sd over 3 seeds: a 98\.47% ± 0\.15/);
  });

  it('a finding of several comparisons needs every one: best of three is not decided when one comparison is not significant', () => {
    const c = group('c', [0.97, 0.971, 0.97]); // a - c: p = 0.035; c - b: p = 0.010
    expect(judge({ type: 'best', runs: ['a', 'b', 'c'] }, [a, b, c]).verdict).toBe('reproduced');
    const close = group('c', [0.974, 0.975, 0.973]); // a - c: 0.001, -0.002, 0.003
    expect(judge({ type: 'best', runs: ['a', 'b', 'c'] }, [a, b, close]).verdict).toBe('not decided at 3 seeds');
    expect(judge({ type: 'increasing', runs: ['b', 'c', 'a'] }, [a, b, c]).verdict).toBe('reproduced');
    expect(judge({ type: 'worst', runs: ['b', 'a', 'c'] }, [a, b, c]).verdict).toBe('reproduced');
  });

  it('at one seed, as the paper judged: holds or not', () => {
    const one = judge({ type: 'order', runs: ['a', 'b'] }, [group('a', [0.97]), group('b', [0.96])]);
    expect(one).toEqual({ text: 'the claim', verdict: 'reproduced', detail: 'test: a 97.00%, b 96.00%' });
  });

  it('a diverged seed counts as accuracy 0; an unfinished one leaves the finding not yet run', () => {
    const diverged = { ...b, runs: [run('b', 1, 0.99, 'diverged'), ...b.runs.slice(1)] };
    expect(judge({ type: 'order', runs: ['a', 'b'] }, [a, diverged]).detail).toMatch(/b 64\.53% ± /); // (0 + 0.969 + 0.967) / 3
    expect(judge({ type: 'order', runs: ['a', 'b'] }, [a, { ...b, runs: [...b.runs.slice(1), run('b', 3, 0, 'partial')] }]).verdict).toBe('not yet run');
  });

  it('an explosion is an event: reproduced when every seed shows it, not decided when some do', () => {
    const seeds = (losses: number[][], statuses: RunData['status'][] = []) => ({
      id: 'r',
      label: 'r',
      runs: losses.map((l, i) => run('r', i + 1, 0.9, statuses[i] ?? 'done', l)),
    });
    expect(
      judge({ type: 'explodes', runs: ['r'] }, [
        seeds(
          [
            [9, 95],
            [9, 8],
            [9, 9],
          ],
          ['done', 'diverged'],
        ),
      ]).verdict,
    ).toBe('not decided at 3 seeds');
    const all = judge({ type: 'explodes', runs: ['r'] }, [
      seeds(
        [
          [9, 95],
          [9, 8],
        ],
        ['done', 'diverged'],
      ),
    ]);
    expect(all).toEqual({ text: 'the claim', verdict: 'reproduced', detail: 'at 2 of 2 seeds: seed 1 peak iteration loss 95.0, first 9.0; seed 2 diverged' });
    expect(
      judge({ type: 'explodes', runs: ['r'] }, [
        seeds([
          [9, 12],
          [9, 8],
        ]),
      ]).verdict,
    ).toBe('not reproduced');
  });

  it("close to the paper's numbers over seeds: the means within the tolerance and both TOSTs below 0.05", () => {
    const final = group('final', [0.9755, 0.9765, 0.976]); // train 98.55-98.65%: 0.76 points below 99.31%
    const paper = { final: { train: 0.9931, test: 0.9744 } };
    expect(judge({ type: 'close', runs: ['final'], tolerance: 0.005 }, [final], paper).verdict).toBe('not reproduced');
    expect(judge({ type: 'close', runs: ['final'], tolerance: 0.01 }, [final], paper)).toMatchObject({ verdict: 'reproduced' });
    const spread = group('final', [0.9744, 0.9844, 0.9844]); // test 0.67 points off on average, spread over 1 point
    expect(judge({ type: 'close', runs: ['final'], tolerance: 0.012 }, [spread], paper).verdict).toBe('not decided at 3 seeds');
  });
});
