// train's `threads` option sets the graph's kernel threads for the run (and restores them after):
// the same bits for every count, with and without the evaluation thread.
import { describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '@backprop/graph';
import { fileURLToPath } from 'node:url';
import { loadMnist, loadModelFile, ModelNetwork, paperConfig, startState, train, type TrainConfig, type TrainOptions, type TrainState } from '../src/index.ts';

const mnist = loadMnist();
const data = { train: mnist.train.take(1024), test: mnist.test.take(1000) };
// batch 128 and 256 and 64 hidden units: the first two layers' products are large enough to be split
const config: TrainConfig = { ...paperConfig, layers: [784, 256, 64, 10], init: 'xavier', batchSize: 128, epochs: 2 };

const bytesOf = (s: TrainState) =>
  Buffer.concat([...[...s.net.named().values()].map((t) => t.bytes()), ...s.optimizer.state().map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))]);

async function run(options: TrainOptions) {
  const out = await train(config, data, startState(config), {}, options);
  if (out.status !== 'done') throw new Error(out.status);
  return { weights: bytesOf(out.state), epochs: out.epochs.map(({ seconds, ...rest }) => rest) };
}

describe('train with kernel threads', () => {
  it('1, 2 and 3 threads (and the evaluation thread) give the same bits, and the threads set before are restored', async () => {
    await setThreads(1);
    const one = await run({ threads: 1 });
    // Buffer.equals, not toEqual: a failing diff of megabytes of bytes takes vitest minutes to print
    const same = (other: Awaited<ReturnType<typeof run>>, what: string) => {
      expect(other.weights.equals(one.weights), `weights and optimiser state, ${what}`).toBe(true);
      expect(other.epochs).toEqual(one.epochs);
    };
    same(await run({ threads: 3, evaluateInBackground: false }), '3 threads');
    expect(getThreads()).toBe(1);
    await setThreads(2);
    same(await run({ threads: 2, evaluateInBackground: true }), '2 threads and the evaluation thread');
    same(await run({}), 'the 2 threads set before'); // threads as set: 2
    expect(getThreads()).toBe(2);
    await setThreads(1);
  }, 120_000);

  it("LeNet-5 at batch 64 (its convolutions, pooling and weights' gradients split) gives the same bits on 1, 2 and 3 threads", async () => {
    const model = await loadModelFile(fileURLToPath(new URL('../../../examples/models/lenet.ts', import.meta.url)));
    const lenet = { ...paperConfig, loss: 'ce', optimizer: 'adam', lr: 0.001, batchSize: 64, epochs: 1 } as TrainConfig;
    const lenetData = { train: mnist.train.take(256), test: mnist.test.take(64) };
    const runLenet = async (threads: number) => {
      const out = await train(
        lenet,
        lenetData,
        startState(lenet, (rng) => new ModelNetwork(model, rng)),
        {},
        { threads, evaluateInBackground: false },
      );
      if (out.status !== 'done') throw new Error(out.status);
      return { weights: bytesOf(out.state), epochs: out.epochs.map(({ seconds, ...rest }) => rest) };
    };
    // Buffer.equals, not toEqual: a diff of 700 KB of bytes takes vitest minutes to print
    const one = await runLenet(1);
    for (const threads of [2, 3]) {
      const other = await runLenet(threads);
      expect(other.weights.equals(one.weights), `weights and Adam state on ${threads} threads`).toBe(true);
      expect(other.epochs).toEqual(one.epochs);
    }
  }, 120_000);

  it('refuses a thread count it cannot use, naming it', async () => {
    await expect(train(config, data, startState(config), {}, { threads: 0 })).rejects.toThrow(/^threads 0: expected a whole number of threads in \[1, 64\]/);
  });
});
