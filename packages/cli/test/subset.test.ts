// --subset N trains on the first N training images and tests on the first N/6 (rounded up): the run's
// own output says so, not only --help.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backprop } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-subset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--subset N says what it tests on', () => {
  it('in the first line of train', () => {
    const out = join(dir, 'train');
    const r = backprop(['train', '--layers', '784,16,10', '--subset', '600', '--epochs', '1', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(
      `training 784-16-10 (tanh, hinge, sgd lr 0.01, batch 8, init paper, seed 1) for 1 epoch on the first 600 training images and the first 100 test images -> ${out}`,
    );
  });

  it('in the overrides line of experiment', () => {
    const r = backprop(['experiment', 'depth', '--list', '--epochs', '1', '--subset', '1000', '--out', join(dir, 'depth')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "overrides: epochs 1, subset 1000 (the first 1000 training images and the first 167 test images): a quick look, not the paper's settings\n",
    );
  });
});
