// Training options beyond the paper's: learning-rate schedules, weight decay, gradient clipping,
// a validation set and early stopping; each against hand-computed values or a closed form.
import { describe, expect, it } from 'vitest';
import { tensor } from '@backprop/graph';
import {
  createOptimizer,
  evaluate,
  globalGradNorm,
  holdOut,
  learningRate,
  loadMnist,
  paperConfig,
  SGD,
  startState,
  train,
  trainConfigProblem,
  type TrainConfig,
} from '../src/index.ts';

const mnist = loadMnist();
const small = { train: mnist.train.take(800), test: mnist.test.take(200) };
const quick: TrainConfig = { ...paperConfig, layers: [784, 16, 10], init: 'xavier', epochs: 2 };

describe('learning-rate schedules (10 steps an epoch)', () => {
  it("constant: the base rate at every step (the paper's runs keep their bits)", () => {
    expect([0, 7, 39].map((s) => learningRate({ lr: 0.01, epochs: 4 }, s, 10))).toEqual([0.01, 0.01, 0.01]);
  });
  it('step: x gamma every stepEvery epochs', () => {
    const c = { lr: 0.1, epochs: 6, schedule: 'step' as const, stepEvery: 2, stepGamma: 0.5 };
    expect([0, 19, 20, 39, 40, 59].map((s) => learningRate(c, s, 10))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
  });
  it('cosine: lr (1 + cos(pi t / T)) / 2 over the run', () => {
    const c = { lr: 0.1, epochs: 2, schedule: 'cosine' as const };
    expect(learningRate(c, 0, 10)).toBe(0.1);
    expect(learningRate(c, 5, 10)).toBeCloseTo(0.0853553390593, 12); // (1 + cos(pi/4)) / 2 = 0.853553...
    expect(learningRate(c, 10, 10)).toBeCloseTo(0.05, 15);
    expect(learningRate(c, 19, 10)).toBeCloseTo(0.000615582970243, 14); // (1 + cos(19 pi / 20)) / 2
  });
  it('warm-up: a linear ramp over the first W steps, then the schedule over the steps after it', () => {
    expect([0, 1, 4, 5, 9].map((s) => learningRate({ lr: 0.1, epochs: 2, warmup: 0.5 }, s, 10))).toEqual([0.02, 0.04, 0.1, 0.1, 0.1]);
    const cosine = { lr: 0.1, epochs: 3, schedule: 'cosine' as const, warmup: 1 };
    expect(learningRate(cosine, 9, 10)).toBe(0.1);
    expect(learningRate(cosine, 10, 10)).toBe(0.1);
    expect(learningRate(cosine, 20, 10)).toBeCloseTo(0.05, 15);
  });
  it('reaches the optimiser: a rate of 0 from the second epoch on leaves the weights as the first epoch left them', async () => {
    const config: TrainConfig = { ...quick, schedule: 'step', stepEvery: 1, stepGamma: 0 };
    const weights: Buffer[] = [];
    const out = await train(config, small, startState(config), {
      onEpoch: (_s, st) => void weights.push(Buffer.concat(st.net.parameters().map((p) => p.bytes()))),
    });
    expect(out.epochs.map((e) => e.lr)).toEqual([0.01, 0]);
    expect(Buffer.compare(weights[0], weights[1])).toBe(0);
  });
});

describe('weight decay and gradient clipping (SGD, lr 0.1)', () => {
  const layer = (grad: number[][]) => {
    const W = tensor([[1, 1]], { dtype: 'float64', requiresGrad: true });
    const b = tensor([2, 2], { dtype: 'float64', requiresGrad: true });
    W.grad = tensor(grad, { dtype: 'float64' });
    b.grad = tensor([0, 0], { dtype: 'float64' });
    return [W, b];
  };
  it('weight decay adds wd w to the gradient of weight matrices, not of biases', () => {
    const [W, b] = layer([[3, 4]]);
    createOptimizer('sgd', [W, b], { lr: 0.1, weightDecay: 0.5 }).step();
    expect(W.toFlatArray()).toEqual([1 - 0.1 * (3 + 0.5), 1 - 0.1 * (4 + 0.5)]);
    expect(b.toFlatArray()).toEqual([2, 2]);
  });
  it('clipping scales all gradients by maxNorm / (norm + 1e-6) when their global norm (here 5) exceeds it, and leaves them otherwise', () => {
    const [W, b] = layer([[3, 4]]);
    expect(globalGradNorm([W, b])).toBe(5);
    new SGD([W, b], { lr: 0.1, clipNorm: 1 }).step();
    const s = 1 / (5 + 1e-6);
    expect(W.toFlatArray()[0]).toBeCloseTo(1 - 0.1 * 3 * s, 15);
    expect(W.toFlatArray()[1]).toBeCloseTo(1 - 0.1 * 4 * s, 15); // 0.92000002
    const [W2, b2] = layer([[3, 4]]);
    new SGD([W2, b2], { lr: 0.1, clipNorm: 6 }).step();
    expect(W2.toFlatArray()).toEqual([1 - 0.3, 1 - 0.4]);
  });
  it("clips first, then decays (PyTorch's order): 1 - 0.1 (4/5 + 0.5) = 0.87", () => {
    const [W, b] = layer([[3, 4]]);
    createOptimizer('sgd', [W, b], { lr: 0.1, clipNorm: 1, weightDecay: 0.5 }).step();
    expect(W.toFlatArray()[0]).toBeCloseTo(0.89, 6);
    expect(W.toFlatArray()[1]).toBeCloseTo(0.87, 6);
  });
});

describe('a validation set and early stopping', () => {
  it('holds out the last N training images: trained on the rest, evaluated on them every epoch', async () => {
    const config: TrainConfig = { ...quick, epochs: 1, validation: 200 };
    const { fit, validation } = holdOut(small.train, config);
    expect([fit.count, validation!.count]).toEqual([600, 200]);
    expect(Array.from(validation!.labels)).toEqual(Array.from(small.train.labels.subarray(600)));
    let iterations = 0;
    const out = await train(config, small, startState(config), { onIteration: () => iterations++ });
    expect(iterations).toBe(600 / 8);
    expect(out.epochs[0].validation).toEqual(evaluate(out.state.net, validation!, 'hinge'));
    expect(out.epochs[0].train).toEqual(evaluate(out.state.net, fit, 'hinge'));
    expect(() => holdOut(small.train, { validation: 800 })).toThrow(
      'train: validation 800 leaves no training images (the training set has 800); hold out fewer',
    );
  });

  it('stops once the validation loss has not improved for `patience` epochs, and a resumed state that has waited long enough trains no more', async () => {
    // From the second epoch on the rate is 0, so the validation loss stays that of epoch 1.
    const config: TrainConfig = { ...quick, epochs: 10, validation: 200, patience: 2, schedule: 'step', stepEvery: 1, stepGamma: 0 };
    const out = await train(config, small, startState(config));
    expect(out.status).toBe('done');
    expect(out.status === 'done' && out.stoppedEarly).toBe(true);
    expect(out.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(out.state.best).toEqual({ epoch: 1, loss: out.epochs[0].validation!.loss });
    const resumed = { ...startState(config), epoch: 3, iteration: 225, best: out.state.best };
    const again = await train(config, small, resumed);
    expect([again.epochs.length, again.status === 'done' && again.stoppedEarly]).toEqual([0, true]);
  });

  it('names options that do not go together', async () => {
    const cases: [Partial<TrainConfig>, string][] = [
      [{ schedule: 'step' }, 'stepEvery: the step schedule needs it (the epochs between two steps)'],
      [{ stepGamma: 0.5 }, 'stepGamma: only the step schedule uses it (the schedule is constant)'],
      [{ warmup: 2 }, 'warmup: 2 epochs of warm-up leave none of the 2 epochs at the full rate'],
      [{ patience: 3 }, 'patience: early stopping needs a validation set (validation: the number of training images to hold out)'],
    ];
    for (const [set, problem] of cases) {
      const found = trainConfigProblem({ ...quick, ...set });
      expect(`${found?.field}: ${found?.message}`).toBe(problem);
      await expect(train({ ...quick, ...set }, small, startState(quick))).rejects.toThrow(`train: ${problem}`);
    }
    expect(trainConfigProblem({ ...quick, schedule: 'cosine', warmup: 1, weightDecay: 1e-4, clipNorm: 5, validation: 100, patience: 2 })).toBeUndefined();
  });
});
