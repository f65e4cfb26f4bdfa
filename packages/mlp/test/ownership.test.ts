import { describe, expect, it } from 'vitest';
import { Rng, Tape, tidy } from '@backprop/graph';
import { Adam, createOptimizer, loadMnist, lossOnTape, MLP, type Optimizer, type OptimizerName } from '../src/index.ts';

const { train } = loadMnist();
const data = train.take(256);

/** One training step of `net` on batch `b` (8 images), in a tidy scope, as the training loop runs it. */
function step(net: MLP, optimizer: Optimizer, b: number): number {
  return tidy(() => {
    const { X, y } = data.batch(
      Int32Array.from({ length: 8 }, (_, i) => 8 * b + i),
      net.dtype,
    );
    const t = new Tape();
    const loss = lossOnTape(t, 'hinge', net.forward(t, X), y);
    t.backward(loss);
    optimizer.step();
    return loss.item();
  });
}

const build = (seed: number, sizes: number[], optimizer: OptimizerName) => {
  const net = MLP.init({ sizes, activation: 'tanh' }, Rng.seeded(seed), { init: 'xavier' });
  return { net, optimizer: createOptimizer(optimizer, net.parameters(), { lr: 0.01 }) };
};
const bits = (net: MLP) => Buffer.concat(net.parameters().map((p) => p.bytes()));

describe('networks and optimisers own their memory', () => {
  it('a network and an Adam optimiser built inside tidy train exactly as ones built outside', () => {
    const inside = tidy(() => build(1, [784, 16, 10], 'adam'));
    const outside = build(1, [784, 16, 10], 'adam');
    expect(inside.optimizer).toBeInstanceOf(Adam);
    for (let b = 0; b < 8; b++) expect(step(inside.net, inside.optimizer, b)).toBe(step(outside.net, outside.optimizer, b));
    expect(bits(inside.net).equals(bits(outside.net))).toBe(true);
  });

  it('two networks trained by interleaved steps end with the weights each gets when trained alone', () => {
    const alone = (seed: number, sizes: number[], optimizer: OptimizerName) => {
      const m = build(seed, sizes, optimizer);
      for (let b = 0; b < 16; b++) step(m.net, m.optimizer, b);
      return bits(m.net);
    };
    const a = build(1, [784, 32, 10], 'sgd'),
      c = build(2, [784, 20, 12, 10], 'momentum');
    for (let b = 0; b < 16; b++) {
      step(a.net, a.optimizer, b);
      step(c.net, c.optimizer, 15 - b);
    }
    expect(bits(a.net).equals(alone(1, [784, 32, 10], 'sgd'))).toBe(true);
    const reversed = build(2, [784, 20, 12, 10], 'momentum');
    for (let b = 0; b < 16; b++) step(reversed.net, reversed.optimizer, 15 - b);
    expect(bits(c.net).equals(bits(reversed.net))).toBe(true);
    // and the gradients each parameter holds after its last step are its own, intact
    const g = a.net.parameters()[0].grad!;
    expect(g.shape).toEqual([784, 32]);
    expect(g.toFlatArray().some((v) => v !== 0)).toBe(true);
  });
});
