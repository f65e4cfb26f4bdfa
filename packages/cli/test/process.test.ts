/** The binary's process-level behaviour: a closed pipe on stdout, and relative paths from a subdirectory. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMnistDir, loadMnist } from '@backprop/mlp';
import { backprop, repoRoot, withClosedStdout } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a closed pipe on stdout (backprop check ... | head -1)', () => {
  it('ends the process quietly with the status of SIGPIPE, not an EPIPE stack trace', async () => {
    const r = await withClosedStdout(['check', join(repoRoot, 'examples/paper-worked-example.txt')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(141);
  });
});

describe('relative paths from a subdirectory', () => {
  it('`pnpm backprop check FILE` in examples/ reads examples/FILE (pnpm runs the script from the root)', () => {
    const r = spawnSync('npx', ['-y', 'pnpm@12.4.2', '--silent', 'backprop', 'check', 'paper-worked-example.txt'], {
      cwd: join(repoRoot, 'examples'),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('14 claims: 10 ok (3 truncated), 4 rounding, 0 wrong');
  });

  it('train --config/--data/--out, --resume, evaluate and predict resolve against the directory the command was typed in', () => {
    // What pnpm passes to the root `backprop` script when typed in `sub`: the root as cwd, sub in INIT_CWD.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const asPnpm = { cwd: repoRoot, env: { INIT_CWD: sub, npm_lifecycle_event: 'backprop' } };
    writeFileSync(join(sub, 'quick.json'), JSON.stringify({ layers: [784, 8, 10], init: 'xavier', subset: 300, epochs: 1 }));
    symlinkSync(defaultMnistDir(), join(sub, 'mnist'));
    const out = `run-${process.pid}`; // were it resolved against the root, it would land there
    const train = backprop(['train', '--config', 'quick.json', '--data', 'mnist', '--out', out, '--quiet'], asPnpm);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(existsSync(join(sub, out, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(repoRoot, out))).toBe(false);

    const resume = backprop(['train', '--resume', out], asPnpm);
    expect(resume.stderr).toBe(`backprop: ${out}: this run is already complete (see summary.json)\n`);
    const evaluate = backprop(['evaluate', `${out}/model.safetensors`, '--data', 'mnist', '--json'], asPnpm);
    expect(evaluate.code).toBe(0);
    expect(JSON.parse(evaluate.stdout).count).toBe(10000);
    // A PGM of the first test image, 28x28, light on dark as MNIST.
    const { test } = loadMnist();
    writeFileSync(join(sub, 'digit.pgm'), Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.from(test.images.subarray(0, 784))]));
    const predict = backprop(['predict', `${out}/model.safetensors`, 'digit.pgm'], asPnpm);
    expect(predict.code).toBe(0);
    expect(predict.stdout).toMatch(/^digit\.pgm: \d/);
  });

  it('an INIT_CWD left by another script (a test run under `pnpm test`) is not followed', () => {
    const r = backprop(['check', 'examples/paper-worked-example.txt'], { cwd: repoRoot, env: { INIT_CWD: dir, npm_lifecycle_event: 'test' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
