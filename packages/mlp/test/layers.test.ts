// Model files written with @backprop/graph's layers against the same networks declared by hand:
// the same tensors by name, the same draws, and the same bits after training steps.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nn, Rng, Tape, tidy, type Tensor } from '@backprop/graph';
import { loadMnist, loadModelFile, modelFromLayers, ModelNetwork, paperConfig, startState, train, type ModelFile, type TrainConfig } from '../src/index.ts';

const models = fileURLToPath(new URL('../../../examples/models/', import.meta.url));
const bytes = (ts: Tensor[]) => Buffer.concat(ts.map((t) => t.bytes()));
const mnist = loadMnist();

/** Trains a model file for one epoch of a small subset; the per-step losses and the final tensors by name. */
async function trainFile(path: string | ModelFile, config: TrainConfig) {
  const model = typeof path === 'string' ? await loadModelFile(path) : path;
  const state = startState(config, (rng) => new ModelNetwork(model, rng));
  const initial = bytes(state.net.parameters()),
    losses: number[] = [];
  const outcome = await train(config, { train: mnist.train.take(192), test: mnist.test.take(64) }, state, { onIteration: (_i, _e, loss) => losses.push(loss) });
  return { initial, losses, named: outcome.state.net.named(), test: outcome.epochs[0].test };
}

describe('model files of layers give the bits of the hand-declared ones', () => {
  for (const [hand, layers, options] of [
    ['lenet.ts', 'lenet-layers.ts', { loss: 'ce', optimizer: 'adam', lr: 0.001, batchSize: 32, weightDecay: 1e-4 }],
    ['residual.ts', 'residual-layers.ts', { loss: 'hinge', optimizer: 'momentum', lr: 0.01, batchSize: 16 }],
  ] as const) {
    it(`${layers}: the same names, initial draws, step losses and trained weights as ${hand}`, async () => {
      const config = { ...paperConfig, epochs: 1, ...options } as TrainConfig;
      const a = await trainFile(join(models, hand), config),
        b = await trainFile(join(models, layers), config);
      expect([...b.named.keys()]).toEqual([...a.named.keys()]);
      expect(b.initial.equals(a.initial)).toBe(true);
      expect(a.losses.length).toBeGreaterThanOrEqual(6);
      expect(b.losses).toEqual(a.losses);
      for (const [name, t] of a.named) expect(Buffer.from(b.named.get(name)!.bytes()).equals(t.bytes()), name).toBe(true);
      expect(b.test).toEqual(a.test);
    }, 120_000);
  }

  it('regularised.ts (batchNorm, layerNorm, dropout) as layers: the same bits through training, running statistics included', async () => {
    const { Sequential, Linear, BatchNorm, LayerNorm, Activation, Dropout } = nn;
    const net = new Sequential({
      fc1: new Linear(784, 256, { bias: false, init: 'he' }),
      bn1: new BatchNorm(256),
      relu: new Activation('relu'),
      drop1: new Dropout(0.2),
      fc2: new Linear(256, 128, { init: 'he' }),
      ln2: new LayerNorm(128),
      gelu: new Activation('gelu'),
      drop2: new Dropout(0.2),
      fc3: new Linear(128, 10),
    });
    const names: Record<string, string> = { 'fc1.weight': 'W1', 'fc2.weight': 'W2', 'fc2.bias': 'b2', 'fc3.weight': 'W3', 'fc3.bias': 'b3' };
    const definition = modelFromLayers(net, { input: [784], outputs: 10, rename: (name) => names[name] ?? name });
    const config = { ...paperConfig, epochs: 1, loss: 'ce', optimizer: 'adam', lr: 0.001, batchSize: 32 } as TrainConfig;
    const a = await trainFile(join(models, 'regularised.ts'), config);
    const b = await trainFile({ path: 'layers', file: 'layers', sha256: '', definition }, config);
    expect([...b.named.keys()]).toEqual([...a.named.keys()]);
    expect(b.losses).toEqual(a.losses);
    for (const [name, t] of a.named) expect(Buffer.from(b.named.get(name)!.bytes()).equals(t.bytes()), name).toBe(true);
    expect(b.test).toEqual(a.test);
    const broken = modelFromLayers(net, { input: [784], outputs: 10, rename: (name) => name.replace('.mean', '.average') });
    const X = mnist.train.batch(Int32Array.from([0, 1])).X;
    expect(() =>
      tidy(() =>
        new ModelNetwork({ path: 'b.ts', file: 'b.ts', sha256: '', definition: broken }, Rng.seeded(1)).forward(new Tape(), X, {
          training: true,
          rng: Rng.seeded(1),
        }),
      ),
    ).toThrow(
      /^b\.ts: forward: BatchNorm\(256\) 'bn1': modelFromLayers: rename must keep a batchNorm's running statistics as NAME\.mean, but gives 'bn1\.average'$/,
    );
  });

  it('a model file of layers draws what Model.init draws from the same seed, and gives the same scores', () => {
    const net = new nn.Sequential({
      fc1: new nn.Linear(784, 32, { init: 'he', activation: 'relu' }),
      bn: new nn.BatchNorm(32),
      drop: new nn.Dropout(0.3),
      fc2: new nn.Linear(32, 10),
    });
    const model = nn.Model.init(net, Rng.seeded(3), { dtype: 'float64' });
    const file = new ModelNetwork(
      { path: 'test.ts', file: 'test.ts', sha256: '', definition: modelFromLayers(net, { input: [784], outputs: 10 }) },
      Rng.seeded(3),
      { dtype: 'float64' },
    );
    expect([...file.named().keys()]).toEqual(['fc1.weight', 'fc1.bias', 'bn.gain', 'bn.bias', 'fc2.weight', 'fc2.bias', 'bn.mean', 'bn.var']);
    expect(bytes([...file.named().values()]).equals(bytes([...model.stateDict().values()]))).toBe(true);
    const X = mnist.train.batch(Int32Array.from({ length: 8 }, (_, i) => i)).X.clone('float64');
    for (const training of [true, false]) {
      const [s1, s2] = tidy(() =>
        [file.forward(new Tape(), X, { training, rng: Rng.seeded(7) }), model.forward(new Tape(), X, { training, rng: Rng.seeded(7) })].map((s) =>
          s.toFlatArray(),
        ),
      );
      expect(s2).toEqual(s1);
      expect(bytes([...model.state.values()]).equals(bytes([...file.state.values()]))).toBe(true); // running statistics updated alike
    }
  });

  it('names a wrong input shape in one line, with the layer and where it sits', () => {
    const def = modelFromLayers(new nn.Sequential({ fc1: new nn.Linear(100, 10) }), { input: [784], outputs: 10 });
    const net = new ModelNetwork({ path: 'wide.ts', file: 'wide.ts', sha256: '', definition: def }, Rng.seeded(1));
    const X = mnist.train.batch(Int32Array.from([0, 1])).X;
    expect(() => tidy(() => net.forward(new Tape(), X))).toThrow(/^wide\.ts: forward: Linear\(100, 10\) 'fc1': expects input \[n, 100\], got \[2,784\]$/);
  });

  it('refuses names a model file may not have, and a rename that gives two tensors one name', () => {
    const net = new nn.Sequential([new nn.Linear(4, 3), new nn.Linear(3, 2)]);
    expect(() => modelFromLayers(net, { input: [4], outputs: 2 })).toThrow(
      /^modelFromLayers: the tensor '0\.weight' starts with a digit, which a model file's names may not: name the layers/,
    );
    expect(() => modelFromLayers(net, { input: [4], outputs: 2, rename: () => 'w' })).toThrow(
      /^modelFromLayers: rename gives '0\.bias' the name 'w', which another tensor has$/,
    );
  });
});
