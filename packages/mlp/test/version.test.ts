import { describe, expect, it } from 'vitest';
import { Tape, tensor } from '@backprop/graph';
import { createOptimizer, optimizerNames } from '../src/index.ts';

describe('optimiser steps bump the versions of the parameters they write', () => {
  it.each(optimizerNames)('%s: a step between forward and backward is an error naming the parameter', (name) => {
    const W = tensor(
      [
        [0.5, -1],
        [2, 0.25],
      ],
      { requiresGrad: true, name: 'W' },
    );
    const opt = createOptimizer(name, [W], { lr: 0.1, clipNorm: 0.5, weightDecay: 0.01 });
    const x = tensor([[1, 2]]);
    const first = new Tape();
    first.backward(first.sum(first.square(first.matmul(x, W))));
    const t = new Tape();
    const loss = t.sum(t.square(t.matmul(x, W)));
    opt.step();
    expect(W.version).toBe(1);
    expect(() => t.backward(loss)).toThrow(/^backward: matmul saved 'W' \[2,2\] at version 0, but it was modified in place since \(now version 1\)/);
  });
});
