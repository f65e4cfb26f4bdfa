import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir, readTensorFile } from '@backprop/mlp';
import { backprop, interruptAfterFirstEpoch, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-model-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const models = join(repoRoot, 'examples', 'models');
const lines = (text: string) => text.trim().split('\n');
const jsonLines = (path: string) => lines(readFileSync(path, 'utf8')).map((l) => JSON.parse(l));
/** Every tensor of a saved file, by name, as bytes. */
const tensorsOf = (path: string) =>
  new Map([...readTensorFile(path).tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));

describe('backprop train --model', () => {
  const settings = ['--subset', '1200', '--epochs', '2', '--quiet'];
  const mlp = join(dir, 'mlp'),
    file = join(dir, 'mlp-file');

  it("trains the paper's MLP written as a model file to the same bits as backprop train with the same settings", () => {
    expect(backprop(['train', ...settings, '--out', mlp]).code).toBe(0);
    const r = backprop(['train', '--model', 'examples/models/mlp.ts', ...settings, '--out', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [a, b] = [tensorsOf(join(mlp, 'model.safetensors')), tensorsOf(join(file, 'model.safetensors'))];
    expect([...b.keys()]).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    for (const [name, bytes] of a) expect(Buffer.compare(b.get(name)!, bytes), name).toBe(0);
    const epochs = (d: string) => jsonLines(join(d, 'metrics.jsonl')).map(({ seconds: _, ...m }) => m);
    expect(epochs(file)).toEqual(epochs(mlp));
    // config.json names the file by its absolute path and SHA-256, and has no layers or activation.
    const { config } = JSON.parse(readFileSync(join(file, 'config.json'), 'utf8'));
    const sha256 = createHash('sha256')
      .update(readFileSync(join(models, 'mlp.ts')))
      .digest('hex');
    expect(config).toEqual({
      loss: 'hinge',
      lr: 0.01,
      batchSize: 8,
      epochs: 2,
      optimizer: 'sgd',
      seed: 1,
      subset: 1200,
      model: { file: join(models, 'mlp.ts'), sha256 },
    });
    // compare shows the model file where an MLP run shows its layers.
    const table = lines(backprop(['compare', mlp, file, '--figure', join(dir, 'compare.svg')]).stdout);
    expect(table[0].split(/ {2,}/).slice(0, 3)).toEqual(['run', 'layers', 'activation']);
    expect(table[2].split(/ {2,}/).slice(1, 3)).toEqual(['784-800-100-10', 'tanh']);
    expect(table[3].split(/ {2,}/)).toContain('mlp.ts');
  });

  it('evaluate and predict read its checkpoint through the model file, with the numbers of the same MLP', () => {
    const named = (d: string) => (d === file ? ['--model-file', 'examples/models/mlp.ts'] : []);
    const evaluate = (d: string) => JSON.parse(backprop(['evaluate', join(d, 'model.safetensors'), '--json', ...named(d)]).stdout);
    expect({ ...evaluate(file), model: '' }).toEqual({ ...evaluate(mlp), model: '' });
    const images = join(defaultMnistDir(), 't10k-images-idx3-ubyte');
    const predict = (d: string) => backprop(['predict', join(d, 'model.safetensors'), images, '--json', ...named(d)]);
    const [a, b] = [predict(mlp), predict(file)];
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).predictions).toHaveLength(10000);
    expect(b.stdout.replace(/"input":"[^"]*"/, '')).toBe(a.stdout.replace(/"input":"[^"]*"/, ''));
  });

  it('resumes a killed run of a network with dropout and batchNorm to the same bits (masks, running statistics, optimiser state)', async () => {
    const args = [
      '--model',
      'examples/models/regularised.ts',
      '--subset',
      '3000',
      '--epochs',
      '3',
      '--loss',
      'ce',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--batch-size',
      '32',
      '--quiet',
    ];
    const whole = join(dir, 'reg-whole'),
      killed = join(dir, 'reg-killed');
    expect(backprop(['train', ...args, '--out', whole]).code).toBe(0);
    await interruptAfterFirstEpoch(args, killed, 'SIGKILL');
    expect(existsSync(join(killed, 'summary.json'))).toBe(false);
    const checkpoint = tensorsOf(join(killed, 'checkpoint-epoch-001.safetensors'));
    expect([...checkpoint.keys()].filter((k) => k.startsWith('bn1.'))).toEqual(['bn1.gain', 'bn1.bias', 'bn1.mean', 'bn1.var']);
    expect(checkpoint.get('bn1.mean')!.some((b) => b !== 0)).toBe(true); // running statistics, updated and saved
    const resumed = backprop(['train', '--resume', killed, '--model', 'examples/models/regularised.ts']);
    expect(resumed.code).toBe(0);
    // Killed as its first checkpoint appeared: during epoch 1's evaluation (evaluated on resume), or later.
    expect(resumed.stderr).toMatch(
      /^resuming .*reg-killed after epoch [12] of 3( \(evaluating epoch [12] first: the run stopped before its evaluation was logged\))?\n/,
    );
    const [a, b] = [tensorsOf(join(whole, 'model.safetensors')), tensorsOf(join(killed, 'model.safetensors'))];
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, bytes] of a) expect(Buffer.compare(b.get(name)!, bytes), name).toBe(0);
    const test = (d: string) =>
      jsonLines(join(d, 'metrics.jsonl'))
        .filter((m) => m.type === 'epoch')
        .map((m) => m.testAccuracy);
    expect(test(killed)).toEqual(test(whole));
    // In evaluation, dropout is the identity and batchNorm reads the running statistics: the same numbers every time.
    const evaluate = () =>
      JSON.parse(backprop(['evaluate', join(killed, 'model.safetensors'), '--json', '--model-file', 'examples/models/regularised.ts']).stdout).accuracy;
    const accuracy = evaluate();
    expect(accuracy).toBeGreaterThan(0.9);
    expect(evaluate()).toBe(accuracy);
  });

  it('refuses to resume with a changed model file, unrun, in one line; evaluate refuses it too, and takes an identical copy from --model-file', async () => {
    const source = join(dir, 'residual.ts'); // a model file outside the repository, in no package (the CLI loads it as an ES module all the same)
    copyFileSync(join(models, 'residual.ts'), source);
    const out = join(dir, 'changed');
    await interruptAfterFirstEpoch(['--model', source, '--subset', '6000', '--epochs', '4', '--quiet'], out, 'SIGKILL');
    writeFileSync(source, readFileSync(source, 'utf8').replace('const width = 64', 'const width = 65'));
    const before = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    const r = backprop(['train', '--resume', out, '--model', source]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^backprop: ${out}: the model file ${source} is not the one this run started with \\(SHA-256 [0-9a-f]{12}\\.\\.\\., this file [0-9a-f]{12}\\.\\.\\.\\); restore it to resume, or start a new run\\n$`,
      ),
    );
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe(before);
    const checkpoint = join(out, 'checkpoint-epoch-001.safetensors');
    const e = backprop(['evaluate', checkpoint, '--model-file', source]);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(
      /^backprop: .*residual\.ts: not the model file .*checkpoint-epoch-001\.safetensors was trained with \(SHA-256 [0-9a-f]{12}\.\.\., this file [0-9a-f]{12}\.\.\.\); pass that one with --model-file FILE\n$/,
    );
    const copy = join(dir, 'original.ts');
    copyFileSync(join(models, 'residual.ts'), copy);
    expect(backprop(['evaluate', checkpoint, '--model-file', copy]).stdout).toMatch(/on the test set \(10000 images\): accuracy \d+\.\d\d%/);
  });

  it('trains LeNet-5 (conv2d, maxPool2d) on images of [1, 28, 28] with the training options, printing JSON lines with --json', () => {
    const out = join(dir, 'lenet');
    const r = backprop([
      'train',
      '--model',
      'examples/models/lenet.ts',
      '--subset',
      '2000',
      '--epochs',
      '1',
      '--loss',
      'ce',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--batch-size',
      '32',
      '--schedule',
      'cosine',
      '--weight-decay',
      '0.0001',
      '--json',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const events = lines(r.stdout).map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['epoch', 'result']);
    expect(events[1]).toMatchObject({ status: 'done', dir: out });
    expect(events[0].testAccuracy).toBeGreaterThan(0.8);
    expect([...tensorsOf(join(out, 'model.safetensors')).keys()].slice(0, 2)).toEqual(['conv1.weight', 'conv1.bias']);
    expect(readTensorFile(join(out, 'model.safetensors')).tensors.get('conv2.weight')!.shape).toEqual([16, 6, 5, 5]);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config).toMatchObject({
      schedule: 'cosine',
      weightDecay: 0.0001,
      model: { file: join(models, 'lenet.ts') },
    });
  });

  describe('a model file that fails to load, exports the wrong shape or whose forward throws: one line naming it, exit 2, no run directory', () => {
    const cases: [string, string, RegExp][] = [
      [
        'a syntax error',
        'export default { input: [784], outputs: 10,, };',
        /a-syntax-error\.ts: cannot load the model file: Transform failed with 1 error: .*Expected identifier but found ","$/,
      ],
      ['a throw while loading', "throw new Error('needs a GPU');", /a-throw-while-loading\.ts: cannot load the model file: needs a GPU$/],
      [
        'an import that is not there',
        "import x from './nowhere.ts';\nexport default x;",
        /an-import-that-is-not-there\.ts: cannot load the model file: Cannot find module '\.\/nowhere\.ts'/,
      ],
      [
        'no default export',
        'export const model = {};',
        /no-default-export\.ts: exports no model; write export default \{ input, outputs, parameters, forward \}$/,
      ],
      [
        'a wrong input',
        "export default { input: '784', outputs: 10, parameters: { W: { shape: [784, 10], init: 'he' } }, forward: (t, p, X) => t.matmul(X, p.W) };",
        /a-wrong-input\.ts: input must be the shape of one example, positive integers such as \[784\] or \[1, 28, 28\], got "784"$/,
      ],
      [
        'an input that is not the images',
        "export default { input: [1, 20, 20], outputs: 10, parameters: { W: { shape: [400, 10], init: 'he' } }, forward: (t, p, X) => t.matmul(t.flatten(X), p.W) };",
        /an-input-that-is-not-the-images\.ts: the model's input \[1,20,20\] has 400 values, but MNIST images have 784 pixels \(28x28\)$/,
      ],
      [
        'a forward that throws',
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'he' } }, forward: (t, p, X) => t.matmul(p.W, X) };",
        /a-forward-that-throws\.ts: forward: matmul: cannot multiply \[784,10\] by \[2,784\]: 10 != 2$/,
      ],
      [
        'scores of the wrong shape',
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 12], init: 'he' } }, forward: (t, p, X) => t.matmul(X, p.W) };",
        /scores-of-the-wrong-shape\.ts: forward returned scores of shape \[2,12\], but a batch of 2 needs scores \[2,10\] \(outputs: 10\)$/,
      ],
      [
        'a parameter the forward never uses',
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'he' }, unused: { shape: [3], init: 'zeros' } }, forward: (t, p, X) => t.matmul(X, p.W) };",
        /a-parameter-the-forward-never-uses\.ts: parameters\["unused"\] \[3\] gets no gradient: the forward pass does not use it on the way to the scores; use it, or remove it from parameters$/,
      ],
      [
        'a parameter larger than an array can be',
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 100000000], init: 'he' } }, forward: (t, p, X) => t.matmul(X, p.W) };",
        /a-parameter-larger-than-an-array-can-be\.ts: parameters\["W"\]\.shape \[784,100000000\] has 78,400,000,000 entries, more than one array can hold \(4,294,967,296\); make it smaller$/,
      ],
      [
        'dropout in evaluation only',
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'he' } }, forward: (t, p, X, ctx) => t.matmul(ctx.training ? X : t.dropout(X, 0.5, null, true), p.W) };",
        /dropout-in-evaluation-only\.ts: forward: dropout: training needs the run's Rng to draw the mask, got none$/,
      ],
    ];
    for (const [what, text, message] of cases) {
      it(what, () => {
        const name = `${what.replace(/\W+/g, '-')}.ts`,
          out = join(dir, `bad-${name}`);
        writeFileSync(join(dir, name), text + '\n');
        const r = backprop(['train', '--model', join(dir, name), '--out', out]);
        expect(r.code).toBe(2);
        expect(lines(r.stderr)).toHaveLength(1);
        expect(r.stderr.trim()).toMatch(new RegExp(`^backprop: ${dir}/${message.source}`));
        expect(existsSync(out)).toBe(false);
      });
    }
    it('bad settings are refused before the model file runs', () => {
      const marker = join(dir, 'ran'),
        file = join(dir, 'marks.ts');
      writeFileSync(file, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`);
      const r = backprop(['train', '--model', file, '--lr', '-1', '--out', join(dir, 'bad-marks')]);
      expect(r.stderr).toBe('backprop: settings: field "lr": Too small: expected number to be >0\n');
      expect(existsSync(marker)).toBe(false);
      expect(backprop(['train', '--model', file, '--out', join(dir, 'bad-marks')]).stderr).toMatch(/marks\.ts: input must be the shape of one example/);
      expect(existsSync(marker)).toBe(true); // it does run once the settings are good
    });
    it('a config file that names a model file (a config never runs code), and --model with --layers', () => {
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ model: 'examples/models/mlp.ts' }));
      const r = backprop(['train', '--config', join(dir, 'model.json'), '--out', join(dir, 'bad-config')]);
      expect(r.stderr).toMatch(
        /^backprop: .*model\.json: field "model": a config file cannot name a model file \(loading one runs its code\); pass it with --model FILE\n$/,
      );
      const l = backprop(['train', '--model', 'examples/models/mlp.ts', '--layers', '784,10', '--out', join(dir, 'bad-layers')]);
      expect(l.stderr).toBe('backprop: Arguments model and layers are mutually exclusive (see backprop --help)\n');
      for (const [x, d] of [
        [r, 'bad-config'],
        [l, 'bad-layers'],
      ] as const) {
        expect(x.code).toBe(2);
        expect(existsSync(join(dir, d))).toBe(false);
      }
    });
  });
});

describe('a run directory or a saved model never runs the model file it names: only --model / --model-file do', () => {
  it('train --resume, evaluate and predict refuse to load it unnamed, in one line saying which flag to pass, and run it when named', async () => {
    const marker = join(dir, 'marks-ran'),
      file = join(dir, 'marking.ts'),
      out = join(dir, 'marking-run');
    writeFileSync(
      file,
      [
        "import { appendFileSync } from 'node:fs';",
        `appendFileSync(${JSON.stringify(marker)}, 'ran\\n');`,
        "export default { input: [784], outputs: 10, parameters: { W: { shape: [784, 10], init: 'xavier' }, b: { shape: [10], init: 'zeros' } }, forward: (t, p, X) => t.add(t.matmul(X, p.W), p.b) };",
      ].join('\n'),
    );
    await interruptAfterFirstEpoch(['--model', file, '--subset', '600', '--epochs', '200', '--quiet'], out, 'SIGKILL');
    rmSync(marker);
    const checkpoint = join(out, 'checkpoint-epoch-001.safetensors');
    const pgm = join(dir, 'marking.pgm');
    writeFileSync(pgm, Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.alloc(784)]));
    const refusals: [string[], string][] = [
      [
        ['train', '--resume', out],
        `${out}: this run trains the model file ${file}, and loading one runs its code: name it to resume, with backprop train --resume ${out} --model ${file}`,
      ],
      [
        ['evaluate', checkpoint],
        `${checkpoint}: was trained with the model file ${file}, and loading one runs its code: name it, with backprop evaluate ${checkpoint} --model-file ${file}`,
      ],
      [
        ['predict', checkpoint, pgm],
        `${checkpoint}: was trained with the model file ${file}, and loading one runs its code: name it, with backprop predict ${checkpoint} ${pgm} --model-file ${file}`,
      ],
    ];
    for (const [args, message] of refusals) {
      const r = backprop(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`backprop: ${message}\n`);
      expect(existsSync(marker), args.join(' ')).toBe(false);
    }
    const mlpRun = join(dir, 'marking-mlp'); // an MLP's run takes no model file
    await interruptAfterFirstEpoch(['--layers', '784,10', '--subset', '600', '--epochs', '200', '--quiet'], mlpRun, 'SIGKILL');
    expect(backprop(['train', '--resume', mlpRun, '--model', file]).stderr).toBe(
      `backprop: ${mlpRun}: this run trains an MLP, not a model file; resume it without --model\n`,
    );
    expect(existsSync(marker)).toBe(false);
    expect(backprop(['evaluate', checkpoint, '--model-file', file]).code).toBe(0);
    expect(existsSync(marker)).toBe(true); // named, it runs (the resume with --model: the test of a killed run above)
  }, 120_000);
});

describe('backprop gradcheck --model', () => {
  it("compares the file's hand-derived backward pass with the tape and central differences, and the named values' gradients", () => {
    const r = backprop(['gradcheck', '--model', 'examples/models/residual.ts', '--full-limit', '100']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^examples\/models\/residual\.ts \(a residual MLP, .*\): hinge loss, batch of 8 MNIST images, seed 1, training mode: loss \d+\.\d+\n/,
    );
    expect(r.stdout.match(/^\S+ \[[\d,]+\], (every entry|4 random directions v\^T J u): ok$/gm)).toHaveLength(8);
    expect(r.stdout.match(/^ {2}(hand vs tape|tape vs numeric|hand vs numeric) .* ok$/gm)).toHaveLength(24);
    expect(r.stdout.match(/^ {2}(S|H3|H2|H1) \[8,(10|64)\] .* ok$/gm)!.map((l) => l.trim().split(' ')[0])).toEqual(['S', 'H3', 'H2', 'H1']);
    expect(r.stdout).toMatch(/all 8 parameters agree: hand-derived = tape = finite differences; and dl\/dv of the 4 named values: hand-derived = tape\n$/);
  });

  it('names the first value from the loss backwards where a hand pass with a slip in one layer disagrees with the tape, with the worst index and both values', () => {
    const r = backprop(['gradcheck', '--model', 'examples/models/residual-slip.ts', '--full-limit', '100']);
    expect(r.code).toBe(1);
    const m = /MISMATCH: the first disagreement from the loss backwards is dl\/dH2 \[8,64\]: worst at \[(\d+),(\d+)\], hand (\S+), tape (\S+)\n$/.exec(
      r.stdout,
    );
    expect(m).not.toBeNull();
    expect(Math.abs(Number(m![3]) - Number(m![4]))).toBeGreaterThan(1e-3);
    // Above the slip (nearer the loss) the values agree; below it every one is wrong, but the first is named.
    expect(r.stdout.match(/^ {2}(S|H3|H2|H1) \[8,(10|64)\] .* (ok|MISMATCH)$/gm)!.map((l) => l.trim().split(/ +/).at(-1))).toEqual([
      'ok',
      'ok',
      'MISMATCH',
      'MISMATCH',
    ]);
    expect(r.stdout.match(/^\S+ \[[\d,]+\], .*: (ok|MISMATCH)$/gm)!.map((l) => l.split(' ')[0] + ' ' + l.split(' ').at(-1))).toEqual([
      'W1 MISMATCH',
      'b1 MISMATCH',
      'W2 MISMATCH',
      'b2 MISMATCH',
      'W3 ok',
      'b3 ok',
      'W4 ok',
      'b4 ok',
    ]);
    const json = JSON.parse(backprop(['gradcheck', '--model', 'examples/models/residual-slip.ts', '--full-limit', '100', '--json']).stdout);
    expect(json.ok).toBe(false);
    expect(json.firstDisagreement).toEqual({ name: 'H2', at: [Number(m![1]), Number(m![2])], hand: expect.any(Number), tape: expect.any(Number) });
    expect(json.firstDisagreement.hand.toPrecision(8)).toBe(m![3]);
  });

  it('refuses a hand-derived pass that leaves out a parameter, or gives a value the forward does not name, in one line', () => {
    const model = (
      backward: string,
    ) => `export default { input: [4], outputs: 3, parameters: { W: { shape: [4, 3], init: 'xavier' }, b: { shape: [3], init: 'zeros' } },
      forward: (t, p, X, ctx) => ctx.name('S', t.add(t.matmul(X, p.W), p.b)), backward: ${backward} };`;
    const cases: [string, string, RegExp][] = [
      ['no-b.ts', '({ t, X, dS }) => ({ grads: { W: t.matmul(X.T, dS) } })', /no-b\.ts: backward gives no gradient of the parameter b \(grads\["b"\]\)$/],
      [
        'wrong-shape.ts',
        '({ t, X, dS }) => ({ grads: { W: t.matmul(X.T, dS), b: dS } })',
        /wrong-shape\.ts: backward: grads\["b"\] has shape \[5,3\] but the parameter has \[3\]$/,
      ],
      [
        'unnamed.ts',
        '({ t, X, dS }) => ({ grads: { W: t.matmul(X.T, dS), b: t.sum(dS, 0) }, valueGrads: { H: dS } })',
        /unnamed\.ts: backward: valueGrads\["H"\]: there is no value the forward names \(ctx\.name\) of that name \(S\)$/,
      ],
    ];
    for (const [name, backward, message] of cases) {
      writeFileSync(join(dir, name), model(backward));
      const r = backprop(['gradcheck', '--model', join(dir, name), '--random', '--batch', '5']);
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    writeFileSync(join(dir, 'right.ts'), model('({ t, X, dS }) => ({ grads: { W: t.matmul(X.T, dS), b: t.sum(dS, 0) }, valueGrads: { S: dS } })'));
    expect(backprop(['gradcheck', '--model', join(dir, 'right.ts'), '--random', '--batch', '5']).stdout).toMatch(
      /all 2 parameters agree: hand-derived = tape = finite differences; and dl\/dv of the 1 named value: hand-derived = tape\n$/,
    );
  });

  it('checks second derivatives with --order 2: Hessian-vector products of the loss of a network with batchNorm, layerNorm, gelu and dropout', () => {
    const r = backprop(['gradcheck', '--order', '2', '--model', 'examples/models/regularised.ts', '--loss', 'ce', '--batch', '4', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ ok: true, order: 2, model: 'examples/models/regularised.ts', lossName: 'ce', batch: 4 });
    expect(json.parameters).toHaveLength(9);
    expect(json.parameters.every((p: { maxAbs: number; tape: number }) => p.maxAbs < 1e-6 && Number.isFinite(p.tape))).toBe(true);
  });

  it('without a hand-derived pass, checks the tape against central differences in training mode (one dropout mask, batch statistics)', () => {
    const r = backprop(['gradcheck', '--model', 'examples/models/regularised.ts', '--loss', 'ce', '--random', '--batch', '4', '--full-limit', '50', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.hand).toBe(false);
    expect(json.parameters.map((p: { name: string; ok: boolean }) => `${p.name} ${p.ok}`)).toEqual(
      ['W1', 'bn1.gain', 'bn1.bias', 'W2', 'b2', 'ln2.gain', 'ln2.bias', 'W3', 'b3'].map((n) => `${n} true`),
    );
  });
});
