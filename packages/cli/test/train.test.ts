import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadMnist } from '@backprop/mlp';
import { backprop, interruptAfterFirstEpoch, weightsOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quick = ['--layers', '784,24,10', '--init', 'xavier', '--subset', '1200', '--epochs', '2', '--quiet'];

/** A directory of MNIST-style IDX files holding the first `trainCount` and `testCount` images of MNIST. */
function smallMnist(name: string, trainCount: number, testCount: number): string {
  const out = join(dir, name),
    mnist = loadMnist();
  mkdirSync(out);
  const idx = (dims: number[], data: Uint8Array) => {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head[2] = 0x08;
    head[3] = dims.length;
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([head, data]);
  };
  for (const [split, set, n] of [
    ['train', mnist.train, trainCount],
    ['t10k', mnist.test, testCount],
  ] as const) {
    writeFileSync(join(out, `${split}-images-idx3-ubyte`), idx([n, 28, 28], set.images.subarray(0, n * 784)));
    writeFileSync(join(out, `${split}-labels-idx1-ubyte`), idx([n], set.labels.subarray(0, n)));
  }
  return out;
}

describe('backprop train', () => {
  it('writes a run directory: config, metrics of every iteration and epoch, a checkpoint per epoch, model, summary', () => {
    const out = join(dir, 'run');
    const r = backprop(['train', ...quick, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^done: train accuracy \d+\.\d\d%, test accuracy \d+\.\d\d%; model in .*model.safetensors\n$/);
    expect(readdirSync(out).sort()).toEqual([
      'checkpoint-epoch-001.safetensors',
      'checkpoint-epoch-002.safetensors',
      'config.json',
      'metrics.jsonl',
      'model.safetensors',
      'summary.json',
    ]);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.config).toMatchObject({ layers: [784, 24, 10], activation: 'tanh', loss: 'hinge', lr: 0.01, batchSize: 8, epochs: 2, subset: 1200, seed: 1 });
    expect(config.versions.node).toBe(process.version);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(metrics.map((m) => `${m.type} ${m.epoch}`)).toEqual(['iterations 1', 'epoch 1', 'iterations 2', 'epoch 2']);
    expect(metrics[0].losses).toHaveLength(150);
    expect(metrics[2].first).toBe(151);
    expect(metrics[3].testAccuracy).toBeGreaterThan(0.6);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ status: 'done', epochs: 2, iterations: 300 });
  });

  it('prints JSON lines with --json', () => {
    const r = backprop(['train', ...quick.filter((a) => a !== '--quiet'), '--json', '--out', join(dir, 'json')]);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['epoch', 'epoch', 'result']);
    expect(lines[2]).toMatchObject({ status: 'done' });
  });

  it('resumes a killed run from its last checkpoint and ends with exactly the weights of an uninterrupted run', async () => {
    const args = ['--layers', '784,64,10', '--init', 'xavier', '--subset', '9000', '--epochs', '4', '--quiet'];
    const whole = join(dir, 'whole'),
      killed = join(dir, 'killed');
    expect(backprop(['train', ...args, '--out', whole]).code).toBe(0);
    // Start the same run and kill it (SIGKILL: no chance to clean up) once its first checkpoint is on disk.
    await interruptAfterFirstEpoch(args, killed, 'SIGKILL');
    expect(existsSync(join(killed, 'summary.json'))).toBe(false); // it really was interrupted
    const resumed = backprop(['train', '--resume', killed]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/^resuming .*killed after epoch [123] of 4/);
    expect(Buffer.compare(weightsOf(join(killed, 'model.safetensors')), weightsOf(join(whole, 'model.safetensors')))).toBe(0);
    const epochs = (d: string) =>
      readFileSync(join(d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'epoch');
    expect(epochs(killed).map((m) => [m.epoch, m.testAccuracy])).toEqual(epochs(whole).map((m) => [m.epoch, m.testAccuracy]));
    // A finished run is not trained again.
    const again = backprop(['train', '--resume', killed]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/killed: this run is already complete \(see summary.json\)\n$/);
  });

  it('on Ctrl-C (SIGINT) says how to resume, exits 130, and leaves only whole files', async () => {
    const out = join(dir, 'interrupted');
    const { code, stderr } = await interruptAfterFirstEpoch(['--layers', '784,64,10', '--init', 'xavier', '--subset', '9000', '--epochs', '4'], out, 'SIGINT');
    expect(code).toBe(130);
    expect(stderr).toMatch(
      /interrupted during epoch (\d); the run resumes after epoch \d, the last one saved; continue with: backprop train --resume .*interrupted\n$/,
    );
    const [during, from] = /during epoch (\d); the run resumes after epoch (\d)/.exec(stderr)!.slice(1).map(Number);
    expect(from).toBe(during - 1);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const resumed = backprop(['train', '--resume', out, '--quiet']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`^resuming .*interrupted after epoch ${from} of 4`));
  });

  it('stops a diverging run with a clear message and a non-zero exit, keeping the metrics', () => {
    const out = join(dir, 'diverge');
    const r = backprop([
      'train',
      '--layers',
      '784,32,10',
      '--init',
      'xavier',
      '--activation',
      'elu',
      '--loss',
      'mse',
      '--lr',
      '1',
      '--subset',
      '1000',
      '--epochs',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /training diverged: the loss is Infinity at epoch 1, iteration \d+ \(learning rate 1 is too high for this network; try a smaller --lr\); the metrics up to then are in/,
    );
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(metrics[0]).toMatchObject({ type: 'iterations', epoch: 1, partial: true });
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status).toBe('diverged');
  });
});

describe('bad flags and configs get one line naming the problem, exit 2, and no run directory', () => {
  const cfg = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const empty = smallMnist('empty', 0, 10);
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /^backprop: Unknown argument: bogus \(see backprop --help\)$/],
    [
      'a bad choice',
      ['--activation', 'softsign'],
      /^backprop: Invalid values: Argument: activation, Given: "softsign", Choices: "relu", "elu", "tanh", "sigmoid" \(see backprop --help\)$/,
    ],
    [
      'bad layers',
      ['--layers', '784,0,10'],
      /^backprop: --layers 784,0,10: expected two or more positive integers separated by commas, e\.g\. 784,800,100,10$/,
    ],
    ['a negative learning rate', ['--lr', '-1'], /^backprop: settings: field "lr": Too small: expected number to be >0$/],
    [
      'a config with a bad field',
      ['--config', cfg('bad.json', '{"lr": 0.1, "epochs": "ten"}')],
      /bad.json: field "epochs": Invalid input: expected number, received string$/,
    ],
    [
      'a config with an unknown field',
      ['--config', cfg('extra.json', '{"lr": 0.1, "momentum": 0.9}')],
      /extra.json: the config: Unrecognized key: "momentum"$/,
    ],
    ['a config that is not JSON', ['--config', cfg('broken.json', '{lr: ')], /broken.json: not valid JSON/],
    ['resume with other settings', ['--resume', 'x', '--lr', '0.1'], /^backprop: Arguments resume and lr are mutually exclusive \(see backprop --help\)$/],
    [
      'a first layer that is not the image size',
      ['--layers', '100,10'],
      /^backprop: --layers 100,10: MNIST images have 784 pixels \(28x28\), so the first layer must be 784$/,
    ],
    [
      'fewer outputs than classes',
      ['--layers', '784,16,5'],
      /^backprop: --layers 784,16,5: MNIST images have 10 classes, so the last layer must be at least 10$/,
    ],
    [
      'an empty training set',
      ['--data', empty],
      /^backprop: .*empty\/train-images-idx3-ubyte: holds no images \(its header says 0x28x28\); a data set needs at least one$/,
    ],
    ['no threads', ['--threads', '0'], /^backprop: --threads 0: expected a positive integer \(1: everything in one thread\)$/],
    ['resume of nothing', ['--resume', join(dir, 'nothing')], /nothing: no run here \(no config.json\); start one with backprop train --out/],
    // Raw Node texts no more: `Invalid typed array length: 784000000000`, ENAMETOOLONG.
    [
      'a layer larger than an array can be',
      ['--layers', '784,1000000000,10'],
      /^backprop: settings: field "layers": layer 1 \(784 x 1000000000\) would hold 784,000,000,000 weights, more than one array can hold \(4,294,967,296\); use smaller layers$/,
    ],
    [
      'layers whose weights need more memory than the machine has',
      // a width whose weights and gradients (8 bytes each) exceed the machine's memory, each matrix within an array's limit
      ['--layers', `784,${Math.ceil(totalmem() / 8 / 785) + 1000},10`],
      totalmem() / 8 / 785 + 1000 < 2 ** 32 / 784
        ? /^backprop: settings: field "layers": its [\d,]+ weights need at least [\d.]+ GB of memory \(float32 weights and their gradients\), more than this machine's [\d.]+ GB; use smaller layers$/
        : /^backprop: settings: field "layers": layer 1 .* more than one array can hold/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
      const r = backprop(['train', ...args, '--out', out].filter((a, i, all) => !(args.includes('--resume') && (a === '--out' || all[i - 1] === '--out'))));
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('an --out too long for the file system is named in words (it said ENAMETOOLONG)', () => {
  it('one line, exit 2', () => {
    const out = join(dir, 'x'.repeat(300));
    const r = backprop(['train', '--layers', '784,10', '--subset', '100', '--out', out]);
    expect(r.stderr).toBe(`backprop: file name too long (a path is at most 4096 bytes, a name 255) creating ${out}\n`);
    expect(r.code).toBe(2);
  });
});

describe('settings the data cannot honour as given get a warning line, and the run is not changed', () => {
  it('a subset and a batch larger than the data', () => {
    const data = smallMnist('small', 100, 20),
      out = join(dir, 'large-batch');
    const r = backprop(['train', '--data', data, '--layers', '784,8,10', '--subset', '500', '--batch-size', '500', '--epochs', '2', '--quiet', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'backprop: warning: subset 500 is larger than the training set (100 images): training on all 100, testing on 20',
      'backprop: warning: batch size 500 is larger than the training set (100 images): every epoch is one batch of 100',
    ]);
    // The settings stay as given; each epoch was one step on all 100 images.
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config).toMatchObject({ subset: 500, batchSize: 500 });
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ status: 'done', epochs: 2, iterations: 2 });
  });
});
