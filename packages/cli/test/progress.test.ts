// What a run prints as it goes, as numbers: none of it may depend on how fast the machine is but the times.
import { describe, expect, it } from 'vitest';
import { linesPerEpoch, progressPoints, timeLeft, workPerProgressLine } from '../src/run/progress.ts';

describe('progress off a terminal', () => {
  it("gives an epoch a line for every minute or so of its work, from its size alone: none for the paper's network on MNIST, at most 59", () => {
    // 784-800-100-10 has 709,110 parameters: an epoch of 60,000 images is 1.3e11 multiply-adds, 5 s here.
    expect(linesPerEpoch(3 * 709_110 * 60_000, {})).toBe(0);
    expect(linesPerEpoch(3 * workPerProgressLine - 1, {})).toBe(2);
    expect(linesPerEpoch(1e20, {})).toBe(59);
    expect(linesPerEpoch(1e20, { BACKPROP_PROGRESS_LINES: '4' })).toBe(4);
    expect(() => linesPerEpoch(0, { BACKPROP_PROGRESS_LINES: 'many' })).toThrow(
      'BACKPROP_PROGRESS_LINES=many: expected a whole number of progress lines an epoch (0: none)',
    );
  });

  it('puts them at even fractions of the epoch', () => {
    expect([...progressPoints(3000, 3)]).toEqual([750, 1500, 2250]);
    expect([...progressPoints(750, 0)]).toEqual([]);
    expect([...progressPoints(2, 5)]).toEqual([1, 2]); // no more lines than iterations
  });
});

describe('the time left', () => {
  // 1,000 iterations of 10 ms an epoch (10 s), 4 s of evaluation after each; half-way through epoch 2 of 3.
  const at = { perIteration: 0.01, itersPerEpoch: 1000, within: 500, epoch: 2, epochs: 3, evaluation: 4 };
  it('in one thread: the training left, then every evaluation left, each at its own rate', () => {
    expect(timeLeft({ ...at, background: false })).toBeCloseTo(5 + 10 + 2 * 4);
  });
  it("with the evaluation thread: evaluations overlap the next epoch's training; the last one is waited for", () => {
    expect(timeLeft({ ...at, background: true })).toBeCloseTo(5 + 10 + 4);
    // An evaluation longer than an epoch's training holds the next epoch back.
    expect(timeLeft({ ...at, evaluation: 15, background: true })).toBeCloseTo(5 + 15 + 15);
  });
});
