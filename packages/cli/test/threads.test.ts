import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRunConfig, validateConfig } from '../src/run/config.ts';
import { prepareRunData } from '../src/run/data.ts';
import { executeRun } from '../src/run/execute.ts';
import { RunDir } from '../src/run/rundir.ts';
import { backprop, interruptAfterFirstEpoch, weightsOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every file of a run directory, the timings (`seconds`, `finished`, `started`, peakRssMB, and the checksums of the log's lines, which hold seconds) taken out. */
function contents(out: string): Record<string, string> {
  const timings = /"(seconds|finished|started|peakRssMB|metricsLines)": ?("[^"]*"|[\d.e+-]+|\[[^\]]*\])/g;
  return Object.fromEntries(
    readdirSync(out)
      .filter((f) => f !== '.lock' && !f.endsWith('.lock'))
      .sort()
      .map((f) => {
        const bytes = readFileSync(join(out, f));
        return [f, /\.(json|jsonl)$/.test(f) ? bytes.toString('utf8').replace(timings, '"$1":0') : bytes.toString('base64')];
      }),
  );
}

describe('a run with evaluation in a second thread', () => {
  it('writes the run directory of a one-thread run, bit for bit (metrics, checkpoints, model, summary)', async () => {
    const config = validateConfig({ ...defaultRunConfig, layers: [784, 24, 10], init: 'xavier', subset: 1200, epochs: 3 }, 'test');
    const data = prepareRunData(config, () => {});
    const run = async (name: string, threads: number) => {
      const out = join(dir, name),
        rd = RunDir.create(out, config);
      try {
        await executeRun(rd, { mode: 'quiet', data, train: { threads, evaluateInBackground: true } });
      } finally {
        rd.release();
      }
      return contents(out);
    };
    const one = await run('one', 1),
      two = await run('two', 2);
    expect(Object.keys(two)).toEqual([
      'checkpoint-epoch-001.safetensors',
      'checkpoint-epoch-002.safetensors',
      'checkpoint-epoch-003.safetensors',
      'config.json',
      'metrics.jsonl',
      'model.safetensors',
      'summary.json',
    ]);
    expect(two).toEqual(one);
    // Each epoch's line has its own iterations (150 a epoch), though the next epoch's began before it was logged.
    const lines = two['metrics.jsonl']
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((m) => `${m.type} ${m.epoch} ${m.first ?? m.iteration}`)).toEqual([
      'iterations 1 1',
      'epoch 1 150',
      'iterations 2 151',
      'epoch 2 300',
      'iterations 3 301',
      'epoch 3 450',
    ]);
    expect(lines.filter((m) => m.type === 'iterations').map((m) => m.losses.length)).toEqual([150, 150, 150]);
  });
});

describe("--threads splits the products of a step (the graph's kernel threads)", () => {
  it('a run killed with 3 threads and resumed with 2 ends with the bits of a one-thread run', async () => {
    // batch 128, 256 and 128 hidden units: every product of the first two layers is large enough to be split
    const args = ['--layers', '784,256,128,10', '--init', 'xavier', '--subset', '3000', '--batch-size', '128', '--epochs', '3', '--quiet'];
    const whole = join(dir, 'whole'),
      killed = join(dir, 'killed');
    expect(backprop(['train', ...args, '--threads', '1', '--out', whole]).code).toBe(0);
    await interruptAfterFirstEpoch([...args, '--threads', '3'], killed, 'SIGKILL');
    expect(existsSync(join(killed, 'summary.json'))).toBe(false); // it really was interrupted
    const resumed = backprop(['train', '--resume', killed, '--threads', '2']);
    expect(resumed.code).toBe(0);
    expect(Buffer.compare(weightsOf(join(killed, 'model.safetensors')), weightsOf(join(whole, 'model.safetensors')))).toBe(0);
    const epochs = (d: string) => contents(d)['metrics.jsonl'];
    expect(epochs(killed)).toEqual(epochs(whole));
  }, 120_000);
});
