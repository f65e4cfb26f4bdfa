import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, Tape, tidy, type Tensor } from '@backprop/graph';
import {
  checkDefinition,
  evaluate,
  loadMnist,
  loadModelFile,
  MLP,
  ModelNetwork,
  paperConfig,
  readTensorFile,
  restoreNetwork,
  saveModel,
  startState,
  train,
  type ModelDefinition,
} from '../src/index.ts';

const models = fileURLToPath(new URL('../../../examples/models/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'model-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (ts: Tensor[]) => Buffer.concat(ts.map((t) => t.bytes()));
const mnist = loadMnist();

/** A model file written to the temporary directory. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('a model file is a Network', () => {
  it("the paper's MLP as a model file draws the same weights and trains to the same bits as the built-in MLP", async () => {
    const model = await loadModelFile(join(models, 'mlp.ts'));
    const config = { ...paperConfig, layers: [784, 800, 100, 10], epochs: 1 };
    const data = { train: mnist.train.take(400), test: mnist.test.take(100) };
    const mlp = startState(config),
      file = startState(config, (rng) => new ModelNetwork(model, rng));
    expect(Buffer.compare(bytes(file.net.parameters()), bytes(mlp.net.parameters()))).toBe(0);
    const [a, b] = [await train(config, data, mlp), await train(config, data, file)];
    expect(Buffer.compare(bytes(b.state.net.parameters()), bytes(a.state.net.parameters()))).toBe(0);
    expect(b.epochs[0].test).toEqual(a.epochs[0].test);
    expect([...file.net.named().keys()]).toEqual([...mlp.net.named().keys()]);
  });

  it('draws xavier and he with the fans of its shape ([in, out], or [out, in, kh, kw] for filters); --init replaces only the random ones', async () => {
    const model = await loadModelFile(
      file(
        'fans.ts',
        `export default {
      input: [4], outputs: 2,
      parameters: { filters: { shape: [64, 16, 5, 5], init: 'he' }, W: { shape: [400, 300], init: 'xavier' }, b: { shape: [300], init: 0.5 }, g: { shape: [2], init: 'ones' } },
      forward: (t, p, X) => t.narrow(t.matmul(X, t.narrow(p.W, 0, 0, 4)), 1, 0, 2),
    };`,
      ),
    );
    const net = new ModelNetwork(model, Rng.seeded(3));
    const std = (t: Tensor) => Math.sqrt(t.toFlatArray().reduce((s, v) => s + v * v, 0) / t.size);
    expect(std(net.params.get('filters')!) / Math.sqrt(2 / (16 * 25))).toBeCloseTo(1, 1);
    const W = net.params.get('W')!.toFlatArray();
    expect(Math.max(...W.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 700));
    expect(Math.max(...W.map(Math.abs))).toBeGreaterThan(0.99 * Math.sqrt(6 / 700));
    expect(net.params.get('b')!.toFlatArray()).toEqual(new Array(300).fill(0.5));
    const paper = new ModelNetwork(model, Rng.seeded(3), { init: 'paper' });
    expect(std(paper.params.get('filters')!)).toBeCloseTo(1e-3, 4);
    expect(paper.params.get('g')!.toFlatArray()).toEqual([1, 1]);
  });

  it('batchNorm: a training forward folds the batch statistics into the running ones (unless told not to); evaluation uses them and drops nothing', async () => {
    const model = await loadModelFile(join(models, 'regularised.ts'));
    const net = new ModelNetwork(model, Rng.seeded(1));
    const { X } = mnist.train.batch(Int32Array.from({ length: 16 }, (_, i) => i));
    const running = () => bytes([net.state.get('bn1.mean')!, net.state.get('bn1.var')!]);
    const scores = (mode: Parameters<ModelNetwork['forward']>[2]) => tidy(() => new Tape().noRecord(() => net.forward(new Tape(), X, mode)).toFlatArray());
    const fresh = running();
    const evaluation = scores({ training: false });
    expect(scores({ training: false })).toEqual(evaluation); // no dropout, nothing drawn
    expect(scores({ training: true, rng: Rng.seeded(5), updateState: false })).not.toEqual(evaluation);
    expect(running()).toEqual(fresh);
    expect(scores({ training: true, rng: Rng.seeded(5) })).toEqual(scores({ training: true, rng: Rng.seeded(5), updateState: false }));
    expect(running()).not.toEqual(fresh);
    const mean = net.state.get('bn1.mean')!.toFlatArray();
    expect(Math.max(...mean.map(Math.abs))).toBeGreaterThan(0); // 0.9 x 0 + 0.1 x the batch mean
    expect(scores({ training: false })).not.toEqual(evaluation); // evaluation reads the running statistics
  });

  it('saves its parameters and running statistics by name, and restores them into a fresh network', async () => {
    const model = await loadModelFile(join(models, 'regularised.ts'));
    const net = new ModelNetwork(model, Rng.seeded(1));
    net.state.get('bn1.var')!.array.data.fill(2.5);
    saveModel(join(dir, 'reg.safetensors'), net, { epoch: 1 });
    const saved = readTensorFile(join(dir, 'reg.safetensors'));
    expect(saved.metadata).toMatchObject({ format: 'backprop-model/1', model_file: join(models, 'regularised.ts'), model_sha256: model.sha256 });
    const other = new ModelNetwork(model, Rng.seeded(2));
    restoreNetwork(other, saved, 'reg.safetensors');
    expect(Buffer.compare(bytes([...other.named().values()]), bytes([...net.named().values()]))).toBe(0);
    expect(() => restoreNetwork(MLP.init({ sizes: [784, 10], activation: 'tanh' }, Rng.seeded(1)), saved, 'reg.safetensors')).toThrow(
      /^reg.safetensors: holds a network of format backprop-model\/1, not backprop-mlp\/1$/,
    );
    const data = mnist.test.take(50);
    expect(evaluate(other, data, 'ce')).toEqual(evaluate(net, data, 'ce'));
  });
});

describe('loading a model file', () => {
  it('refuses a file whose SHA-256 is not the one expected before running it', async () => {
    const path = file('side-effect.ts', `(globalThis as any).ranModelFile = true;\nexport default {};\n`);
    await expect(loadModelFile(path, { expect: '0'.repeat(64) })).rejects.toThrow(
      /side-effect.ts: the model file has changed \(its SHA-256 was 000000000000\.\.\., is now [0-9a-f]{12}\.\.\.\)$/,
    );
    expect((globalThis as { ranModelFile?: boolean }).ranModelFile).toBeUndefined();
  });

  const bad: [string, string, RegExp][] = [
    ['missing.ts', '', /missing\.ts: cannot read the model file: no such file or directory$/],
    ['throws.ts', `throw new Error('no GPU here');\nexport default {};`, /throws\.ts: cannot load the model file: no GPU here$/],
    ['syntax.ts', `export default { input: [784], outputs: 10,, };`, /syntax\.ts: cannot load the model file: .*Transform failed/],
    ['nodefault.ts', `export const model = {};`, /nodefault\.ts: exports no model; write export default \{ input, outputs, parameters, forward \}$/],
  ];
  for (const [name, text, message] of bad) {
    it(`names the file and the problem in one line: ${name}`, async () => {
      const path = text ? file(name, text) : join(dir, name);
      const error = await loadModelFile(path).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain('\n');
    });
  }
});

describe('the export of a model file is checked field by field', () => {
  const forward = () => null as unknown as Tensor;
  const good: ModelDefinition = { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'he' } }, forward };
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 42, /its default export is 42, not a model \{ input, outputs, parameters, forward \}$/],
    [
      'an unknown field',
      { ...good, backwards: forward },
      /unknown field "backwards" \(a model has description, input, outputs, parameters, state, forward, loss, backward\)$/,
    ],
    ['input', { ...good, input: [28, 0] }, /input must be the shape of one example, positive integers such as \[784\] or \[1, 28, 28\], got \[28,0\]$/],
    ['outputs', { ...good, outputs: 2.5 }, /outputs must be the number of scores per example, a positive integer, got 2.5$/],
    ['forward', { ...good, forward: 'x W' }, /forward must be a function \(t, p, X, ctx\) => scores, got "x W"$/],
    ['loss', { ...good, loss: 'mse' }, /loss must be a function \(t, outputs, targets\) => the batch's mean loss, got "mse"$/],
    ['no parameters', { ...good, parameters: {} }, /parameters must be an object of at least one \{ shape, init \}, got \{\}$/],
    [
      'a shape',
      { ...good, parameters: { W: { shape: [784, -1], init: 'he' } } },
      /parameters\["W"\]\.shape must be a list of positive integers, got \[784,-1\]$/,
    ],
    [
      'an init',
      { ...good, parameters: { W: { shape: [784, 10], init: 'glorot' } } },
      /parameters\["W"\]\.init must be paper, xavier, he, zeros, ones, a number or a function \(rng\) => number, got "glorot"$/,
    ],
    [
      'a misspelt field',
      { ...good, parameters: { W: { shape: [784, 10], inti: 'he' } } },
      /parameters\["W"\]: unknown field "inti" \(it has shape, init, fanIn, fanOut\)$/,
    ],
    ['a random state', { ...good, state: { m: { shape: [10], init: 'he' } } }, /state\["m"\]\.init must be zeros, ones or a number, got "he"$/],
    ['a name used twice', { ...good, state: { W: { shape: [10], init: 'zeros' } } }, /state\["W"\]: the name is also a parameter's$/],
    ['a reserved name', { ...good, parameters: { 'optimizer.0': { shape: [1], init: 0 } } }, /parameters\["optimizer\.0"\]: a name is letters, digits/],
  ];
  for (const [what, value, message] of cases) {
    it(what, () => expect(() => checkDefinition(value, 'm.ts')).toThrow(new RegExp(`^m\\.ts: ${message.source}`)));
  }

  it('a forward that throws, or returns scores of the wrong shape, is named with the file', async () => {
    const model = {
      path: 'f.ts',
      file: '/f.ts',
      sha256: '',
      definition: { ...good, forward: (t: Tape, p: Record<string, Tensor>, X: Tensor) => t.matmul(X, t.transpose(p.W)) },
    };
    const X = mnist.test.batch([0, 1]).X;
    expect(() => new ModelNetwork(model, Rng.seeded(1)).forward(new Tape(), X)).toThrow(
      /^f\.ts: forward: matmul: cannot multiply \[2,784\] by \[10,784\]: 784 != 10$/,
    );
    model.definition.forward = (t, p, X) => t.narrow(t.matmul(X, p.W), 1, 0, 9);
    expect(() => new ModelNetwork(model, Rng.seeded(1)).forward(new Tape(), X)).toThrow(
      /^f\.ts: forward returned scores of shape \[2,9\], but a batch of 2 needs scores \[2,10\] \(outputs: 10\)$/,
    );
  });
});
