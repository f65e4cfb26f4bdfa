import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, RowSparseTensor, Tape, tensor, tidy, type Tensor } from '@backprop/graph';
import {
  Adam,
  argmaxRows,
  lossOnTape,
  SGD,
  type Optimizer,
  encodeSafetensors,
  evaluate,
  loadMnist,
  loadModel,
  MLP,
  createOptimizer,
  paperConfig,
  predict,
  saveModel,
  startState,
  train,
  weightSampler,
  type Network,
  type TrainConfig,
} from '../src/index.ts';

const mnist = loadMnist();
const small = { train: mnist.train.take(3000), test: mnist.test.take(1000) };
const dir = mkdtempSync(join(tmpdir(), 'train-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quick: TrainConfig = { ...paperConfig, layers: [784, 32, 10], init: 'xavier', epochs: 1 };

describe('training on real MNIST', () => {
  it('learns: one epoch of a 784-32-10 network on 3,000 images reaches > 80% on 1,000 test images', async () => {
    const iterationLosses: number[] = [];
    const out = await train(quick, small, startState(quick), { onIteration: (_i, _e, l) => iterationLosses.push(l) });
    expect(out.status).toBe('done');
    expect(iterationLosses.length).toBe(3000 / 8);
    const [epoch] = out.epochs;
    expect(epoch.test.accuracy).toBeGreaterThan(0.8);
    expect(epoch.train.accuracy).toBeGreaterThan(0.8);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(iterationLosses.slice(-50))).toBeLessThan(mean(iterationLosses.slice(0, 50)) / 3);
    // The confusion matrix counts every test image once, its diagonal the correct ones.
    const cells = epoch.test.confusion.flat().reduce((a, b) => a + b, 0);
    const diagonal = epoch.test.confusion.reduce((a, row, i) => a + row[i], 0);
    expect(cells).toBe(1000);
    expect(diagonal / 1000).toBe(epoch.test.accuracy);
  });

  it('is deterministic: the same seed gives the same bits, another seed other bits', async () => {
    const run = async (seed: number) => {
      const config = { ...quick, seed };
      const out = await train(config, { train: small.train.take(400), test: small.test.take(100) }, startState(config));
      return Buffer.concat(out.state.net.parameters().map((p) => p.bytes()));
    };
    const a = await run(7),
      b = await run(7),
      c = await run(8);
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it('stops a diverging run with a clear message, keeping what was logged', async () => {
    const config: TrainConfig = { ...quick, activation: 'elu', loss: 'mse', lr: 1, epochs: 2 };
    const seen: number[] = [];
    const out = await train(config, small, startState(config), { onIteration: (i) => seen.push(i) });
    expect(out.status).toBe('diverged');
    if (out.status !== 'diverged') return;
    expect(out.message).toMatch(
      /^training diverged: the loss is (NaN|Infinity) at epoch 1, iteration \d+ \(learning rate 1 is too high for this network; try a smaller --lr\)$/,
    );
    expect(seen.length).toBe(out.state.iteration);
    expect(seen.length).toBeGreaterThan(0);
  });

  it('refuses an empty training or test set (it trained nothing and reported NaN accuracy)', async () => {
    await expect(train(quick, { train: small.train.take(0), test: small.test }, startState(quick))).rejects.toThrow(/^train: the train set is empty$/);
    await expect(train(quick, { train: small.train, test: small.test.take(0) }, startState(quick))).rejects.toThrow(/^train: the test set is empty$/);
  });
});

describe('saving and loading a model (safetensors)', () => {
  const net = MLP.init({ sizes: [784, 16, 10], activation: 'elu' }, Rng.seeded(3), { init: 'he' });
  const path = join(dir, 'model.safetensors');

  it('round-trips the weights, architecture and metadata exactly, and writes atomically', () => {
    saveModel(path, net, { config: quick, epoch: 3 });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const loaded = loadModel(path, [784, 16, 10]);
    expect(loaded.net.sizes).toEqual([784, 16, 10]);
    expect(loaded.net.activation).toBe('elu');
    expect(JSON.parse(loaded.metadata.config)).toEqual(quick);
    loaded.net.parameters().forEach((p, i) => expect(Buffer.compare(p.bytes(), net.parameters()[i].bytes())).toBe(0));
    const { X } = mnist.test.batch([0, 1, 2, 3]);
    expect(predict(loaded.net, X)).toEqual(predict(net, X));
  });

  it('reads the header a safetensors reader expects: u64 length, JSON with dtype, shape and offsets', () => {
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    expect(header['layers.0.weight']).toEqual({ dtype: 'F32', shape: [784, 16], data_offsets: [0, 784 * 16 * 4] });
    expect(header['layers.1.bias'].shape).toEqual([10]);
    expect(header.__metadata__.format).toBe('backprop-mlp/1');
    expect(bytes.length).toBe(8 + n + 4 * (784 * 16 + 16 + 16 * 10 + 10));
  });

  it('refuses a corrupt or truncated file, and a model of another architecture', () => {
    const bytes = readFileSync(path);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    expect(() => loadModel(cut)).toThrow(
      /cut.safetensors: not a valid model file: tensor layers.1.\w+ \[[\d,]+\] needs bytes \d+-\d+ but the file has \d+ bytes of data \(truncated\?\)$/,
    );
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'definitely not a model');
    expect(() => loadModel(junk)).toThrow(/junk.safetensors: not a valid model file: header length \d+ runs past the end of the file/);
    expect(() => loadModel(path, [784, 800, 100, 10])).toThrow(/model.safetensors: the model is 784-16-10 but 784-800-100-10 was asked for$/);
    expect(() => loadModel(join(dir, 'missing.safetensors'))).toThrow(/missing.safetensors: cannot read: no such file or directory$/);
    expect(existsSync(join(dir, 'missing.safetensors'))).toBe(false);
  });

  it('names the file for a header, a tensor entry or metadata of the wrong kind (they threw TypeErrors)', () => {
    const withHeader = (name: string, json: string) => {
      const head = Buffer.from(json),
        length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(head.length));
      const p = join(dir, name);
      writeFileSync(p, Buffer.concat([length, head]));
      return p;
    };
    const cases: [string, RegExp][] = [
      ['null', /the header is not a JSON object/],
      ['[1, 2]', /the header is not a JSON object/],
      ['{"layers.0.weight": null}', /tensor layers.0.weight: expected \{dtype, shape, data_offsets\}, found null/],
      [
        '{"layers.0.weight": {"dtype": "F32", "shape": "16", "data_offsets": [0, 64]}}',
        /tensor layers.0.weight: expected \{dtype, shape, data_offsets\}, found \{"dtype":"F32","shape":"16"/,
      ],
      ['{"layers.0.weight": {"dtype": "F32", "shape": [16], "data_offsets": 64}}', /tensor layers.0.weight: expected \{dtype, shape, data_offsets\}/],
      ['{"__metadata__": null}', /__metadata__ is not a map of strings/],
      ['{"__metadata__": {"format": 1}}', /__metadata__ is not a map of strings/],
    ];
    cases.forEach(([json, message], i) => {
      expect(() => loadModel(withHeader(`header-${i}.safetensors`, json))).toThrow(
        new RegExp(`header-${i}.safetensors: not a valid model file: ${message.source}`),
      );
    });
  });

  it('names the file for bad sizes metadata', () => {
    const tensors = Object.fromEntries(
      net.layers.flatMap((l, i) => [
        [`layers.${i}.weight`, { data: l.W.array.data, shape: l.W.shape }],
        [`layers.${i}.bias`, { data: l.b.array.data, shape: l.b.shape }],
      ]),
    );
    for (const [i, sizes] of ['[784,', '[784]', '"784-16-10"', '[784, 1.5, 10]', '[784, 0, 10]'].entries()) {
      const p = join(dir, `sizes-${i}.safetensors`);
      writeFileSync(p, encodeSafetensors(tensors, { format: 'backprop-mlp/1', sizes, activation: 'elu' }));
      expect(() => loadModel(p)).toThrow(`sizes-${i}.safetensors: metadata "sizes" is ${sizes}, not a JSON list of two or more positive integers`);
    }
  });
});

describe('optimisers and initialisers, against closed forms', () => {
  const setup = (g: number[]) => {
    const w = tensor([1, 1, 1], { dtype: 'float64', requiresGrad: true });
    w.grad = tensor(g, { dtype: 'float64' });
    return w;
  };
  it('momentum: v = mu v + g, w -= lr v', () => {
    const w = setup([1, -2, 0.5]);
    const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
    opt.step();
    opt.step(); // v = 1.9 g
    w.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(1 - 0.1 * (1 + 1.9) * [1, -2, 0.5][i], 14));
  });
  it("sgd on MNIST batches updates only the rows of the first layer's gradient that a pixel reaches, with the bits of the dense update (momentum and decay read it densely)", () => {
    const run = (dense: boolean, make: (params: Tensor[]) => Optimizer) => {
      const net = MLP.init({ sizes: [784, 32, 10], activation: 'tanh' }, Rng.seeded(4));
      const params = net.parameters(),
        opt = make(params);
      let rowSparse = 0;
      for (let s = 0; s < 20; s++) {
        tidy(() => {
          const { X, y } = small.train.batch(Int32Array.from({ length: 8 }, (_, i) => 8 * s + i));
          const t = new Tape();
          t.backward(lossOnTape(t, 'hinge', net.forward(t, X), y));
          if (dense) params.forEach((p) => p.grad!.array);
          opt.step();
          const g = params[0].grad;
          if (g instanceof RowSparseTensor && g.sparseRows()) rowSparse++; // the step read only its rows
        });
      }
      return { rowSparse, bytes: params.map((p) => Buffer.from(p.bytes()).toString('base64')) };
    };
    for (const [name, make] of [
      ['sgd', (p: Tensor[]) => new SGD(p, 0.01)],
      ['momentum', (p: Tensor[]) => new SGD(p, { lr: 0.01, momentum: 0.9 })],
      ['sgd, decay', (p: Tensor[]) => createOptimizer('sgd', p, { lr: 0.01, weightDecay: 1e-3 })],
    ] as const) {
      const sparse = run(false, make),
        dense = run(true, make);
      expect([name, sparse.rowSparse, dense.rowSparse]).toEqual([name, name === 'sgd' ? 20 : 0, 0]);
      expect(sparse.bytes).toEqual(dense.bytes);
    }
  });
  it('adam: the first step moves every weight by lr against the sign of its gradient', () => {
    const w = setup([1e-3, -5, 0.5]);
    new Adam([w], 0.01).step();
    w.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(1 - 0.01 * Math.sign([1e-3, -5, 0.5][i]), 6));
  });
  it("the paper's init draws N(0,1) x 1e-3; Xavier stays within its bound; He has variance 2 / fan-in", () => {
    const rng = Rng.seeded(11);
    const draw = (name: 'paper' | 'xavier' | 'he') => Array.from({ length: 20000 }, () => weightSampler(name, 784, 800)(rng));
    const std = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
    expect(std(draw('paper')) / 1e-3).toBeCloseTo(1, 1);
    expect(Math.max(...draw('xavier').map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 1584));
    expect(std(draw('he')) / Math.sqrt(2 / 784)).toBeCloseTo(1, 1);
  });
  it('evaluates a fixed net on fixed data as plain loops do (accuracy, hinge loss, confusion), in batches, leaving no gradients', () => {
    const net = startState(quick).net;
    const data = small.test.take(100);
    const e = evaluate(net, data, 'hinge', 32); // four batches, the last one of 4
    // The oracle: scores from the same weights by loops in float64, the multiclass hinge loss by its formula.
    const { X, y } = data.batch(
      Int32Array.from({ length: 100 }, (_, i) => i),
      'float64',
    );
    const layers = net.layers.map((l) => ({ W: l.W.toArray() as number[][], b: l.b.toFlatArray() }));
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    let correct = 0,
      loss = 0;
    (X.toArray() as number[][]).forEach((x, i) => {
      let h = x;
      layers.forEach(({ W, b }, l) => {
        h = b.map((bj, j) => h.reduce((s, hk, k) => s + hk * W[k][j], bj));
        if (l < layers.length - 1) h = h.map(Math.tanh);
      });
      const predicted = h.indexOf(Math.max(...h));
      confusion[y[i]][predicted]++;
      if (predicted === y[i]) correct++;
      loss += h.reduce((s, sj, j) => s + (j === y[i] ? 0 : Math.max(0, sj - h[y[i]] + 1)), 0) / 100;
    });
    expect(e.confusion).toEqual(confusion);
    expect(e.accuracy).toBe(correct / 100);
    expect(Math.abs(e.loss - loss)).toBeLessThan(1e-5 * loss);
    expect(net.parameters().map((p) => p.grad)).toEqual([null, null, null, null]);
  });
});

describe('NaN scores are never a prediction', () => {
  it('argmaxRows takes a NaN as the largest score (as NumPy does), never passing over it', () => {
    const S = tensor(
      [
        [1, NaN, 3],
        [NaN, 5, 0],
        [1, 2, 0],
        [-Infinity, -Infinity, -1],
      ],
      { dtype: 'float64' },
    );
    expect(Array.from(argmaxRows(S))).toEqual([1, 0, 1, 2]);
  });
  it('a network with a NaN parameter: evaluate gives NaN accuracy and loss, predict refuses', () => {
    const net = startState(quick).net;
    const data = small.test.take(20);
    expect(Number.isFinite(evaluate(net, data, 'hinge').accuracy)).toBe(true);
    net.layers[1].b.array.data[3] = NaN; // every image's score for class 3 is NaN
    const { X } = data.batch(Int32Array.from({ length: 20 }, (_, i) => i));
    for (const loss of ['hinge', 'ce', 'mse'] as const) {
      const e = evaluate(net, data, loss);
      expect([e.accuracy, e.loss]).toEqual([NaN, NaN]);
    }
    expect(() => predict(net, X)).toThrow(
      /^predict: the scores of example 0 hold NaN \(the network's weights or the input hold NaN or infinity, or its activations overflow\)$/,
    );
  });
  it('finite weights whose scores overflow to +Infinity: evaluate gives NaN accuracy and loss, predict refuses (they gave 9.80% and class 0)', () => {
    const net = MLP.init({ sizes: [784, 8, 10], activation: 'relu' }, Rng.seeded(1), { init: 'xavier' });
    net.layers[0].W.array.data.fill(1); // every hidden unit the sum of the pixels, about 100
    net.layers[1].W.array.data.fill(1e38); // 8 x 100 x 1e38 overflows float32: every score is +Infinity
    const data = small.test.take(20);
    for (const loss of ['hinge', 'ce', 'mse'] as const) {
      const e = evaluate(net, data, loss);
      expect([e.accuracy, e.loss], loss).toEqual([NaN, NaN]);
    }
    const { X } = data.batch(Int32Array.from({ length: 20 }, (_, i) => i));
    expect(() => predict(net, X)).toThrow(/^predict: the scores of example 0 hold Infinity \(/);
  });
  it("an epoch whose evaluation is not finite stops train() with an error, and is not handed to onEpoch (it ended 'done' with NaN%)", async () => {
    // A network whose forward in evaluation divides by zero: training is fine, evaluation is not.
    const base = startState(quick);
    const net = base.net;
    const broken: Network = {
      dtype: net.dtype,
      inputSize: net.inputSize,
      outputSize: net.outputSize,
      parameters: () => net.parameters(),
      named: () => net.named(),
      describe: () => net.describe(),
      forward: (t, X, mode) => (mode?.training ? net.forward(t, X) : t.div(net.forward(t, X), 0)),
    };
    const logged: number[] = [];
    await expect(
      train(quick, { train: small.train.take(200), test: small.test.take(100) }, { ...base, net: broken }, { onEpoch: (s) => void logged.push(s.epoch) }),
    ).rejects.toThrow(
      "train: the network's scores on the training images are not finite after epoch 1 (its activations overflow in evaluation); the epoch is not logged",
    );
    expect(logged).toEqual([]);
  });
});
