// backprop train's training options (schedules, weight decay, clipping, validation, early stopping):
// recorded in config.json, and resumed with exactly the bits of an uninterrupted run.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backprop, interruptAfterFirstEpoch, weightsOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const epochLines = (d: string) =>
  readFileSync(join(d, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'epoch');
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** Trains `args` whole, and again killed (SIGKILL) after its first checkpoint and resumed; returns both directories. */
async function wholeAndResumed(name: string, args: string[]) {
  const whole = join(dir, `${name}-whole`),
    killed = join(dir, `${name}-killed`);
  const r = backprop(['train', ...args, '--out', whole]);
  expect(r.stderr).toBe('');
  await interruptAfterFirstEpoch(args, killed, 'SIGKILL');
  expect(existsSync(join(killed, 'summary.json'))).toBe(false); // it really was interrupted
  const resumed = backprop(['train', '--resume', killed]);
  expect(resumed.code).toBe(0);
  return { whole, killed, resumed };
}

describe('backprop train with training options', () => {
  it('records a cosine schedule with warm-up, weight decay, clipping and a validation set, and resumes them bit for bit', async () => {
    const args = [
      '--layers',
      '784,64,10',
      '--init',
      'xavier',
      '--subset',
      '9000',
      '--epochs',
      '4',
      '--schedule',
      'cosine',
      '--warmup',
      '0.5',
      '--weight-decay',
      '0.001',
      '--clip-norm',
      '0.5',
      '--validation',
      '1000',
      '--quiet',
    ];
    const { whole, killed } = await wholeAndResumed('cosine', args);
    expect(json(join(whole, 'config.json')).config).toMatchObject({ schedule: 'cosine', warmup: 0.5, weightDecay: 0.001, clipNorm: 0.5, validation: 1000 });
    expect(Buffer.compare(weightsOf(join(killed, 'model.safetensors')), weightsOf(join(whole, 'model.safetensors')))).toBe(0);
    const fields = (m: Record<string, number>) => [m.epoch, m.lr, m.trainAccuracy, m.validationAccuracy, m.validationLoss, m.testAccuracy];
    expect(epochLines(killed).map(fields)).toEqual(epochLines(whole).map(fields));
    // 8,000 images trained on (1,000 held out): 1,000 steps an epoch; the rate of epoch 4's last step is cosine's at step 3999 of 4000 after 500 of warm-up.
    const last = epochLines(whole).at(-1);
    expect(last.iteration).toBe(4000);
    expect(last.lr).toBeCloseTo((0.01 * (1 + Math.cos((Math.PI * 3499) / 3500))) / 2, 15);
  });

  it('stops early on the validation loss, and a run killed on the way stops at the same epoch with the same weights', async () => {
    // From epoch 2 the rate is 1e-30 of itself: the weights stop moving, the validation loss stops improving.
    const args = [
      '--layers',
      '784,64,10',
      '--init',
      'xavier',
      '--subset',
      '9000',
      '--epochs',
      '10',
      '--schedule',
      'step',
      '--step-every',
      '1',
      '--step-gamma',
      '1e-30',
      '--validation',
      '1000',
      '--patience',
      '2',
      '--quiet',
    ];
    const { whole, killed, resumed } = await wholeAndResumed('early', args);
    expect(resumed.stdout).toMatch(/\ndone \(stopped early: the validation loss was lowest at epoch 1\): train accuracy[^\n]*\n$/);
    expect(json(join(whole, 'summary.json'))).toMatchObject({ status: 'done', stoppedEarly: true, bestEpoch: 1, epochs: 3 });
    expect(json(join(killed, 'summary.json'))).toMatchObject({ status: 'done', stoppedEarly: true, bestEpoch: 1, epochs: 3 });
    expect(Buffer.compare(weightsOf(join(killed, 'model.safetensors')), weightsOf(join(whole, 'model.safetensors')))).toBe(0);
    expect(epochLines(killed).map((m) => m.epoch)).toEqual([1, 2, 3]);
  });

  it('refuses options that do not go together, and a validation set as large as the training set, before making the run directory', () => {
    const cases: [string[], string][] = [
      [
        ['--patience', '2'],
        'backprop: settings: field "patience": early stopping needs a validation set (validation: the number of training images to hold out)',
      ],
      [['--schedule', 'step'], 'backprop: settings: field "stepEvery": the step schedule needs it (the epochs between two steps)'],
      [['--warmup', '3'], 'backprop: settings: field "warmup": 3 epochs of warm-up leave none of the 2 epochs at the full rate'],
      [['--clip-norm', '0'], 'backprop: settings: field "clipNorm": Too small: expected number to be >0'],
      [
        ['--validation', '1200'],
        'backprop: --validation 1200: the training set has 1200 images (with --subset 1200), so none would be left to train on; hold out fewer',
      ],
    ];
    for (const [flags, message] of cases) {
      const out = join(dir, 'refused');
      const r = backprop(['train', '--layers', '784,24,10', '--subset', '1200', '--epochs', '2', ...flags, '--out', out]);
      expect([r.code, r.stderr.trim()]).toEqual([2, message]);
      expect(existsSync(out)).toBe(false);
    }
  });
});
