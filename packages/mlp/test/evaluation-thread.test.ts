import { describe, expect, it } from 'vitest';
import { Rng } from '@backprop/graph';
import {
  loadMnist,
  paperConfig,
  startState,
  train,
  evaluatesInBackground,
  type EpochStats,
  type TrainConfig,
  type TrainOptions,
  type TrainState,
} from '../src/index.ts';

const mnist = loadMnist();
const data = { train: mnist.train.take(1200), test: mnist.test.take(300) };
const quick: TrainConfig = { ...paperConfig, layers: [784, 32, 10], init: 'xavier', epochs: 3 };

/** A state's tensors and optimiser buffers, as bytes. */
function weightsOf(s: TrainState): Buffer {
  const tensors = [...s.net.named().values()].map((t) => t.bytes());
  const buffers = s.optimizer.state().map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return Buffer.concat([...tensors, ...buffers]);
}

/** A run's log as its hooks see it: every epoch's stats (but the timing), the bytes of the state after it, and the order of events. */
async function record(config: TrainConfig, options: TrainOptions, set = data) {
  const events: string[] = [];
  const epochs: Omit<EpochStats, 'seconds'>[] = [];
  const states: Buffer[] = [];
  // What a checkpoint keeps: the tensors, the optimiser's buffers, the generator and the counters.
  const bytesOf = (s: TrainState) => {
    const progress = JSON.stringify({ epoch: s.epoch, iteration: s.iteration, rng: s.rng.state(), best: s.best ?? null });
    return Buffer.concat([weightsOf(s), Buffer.from(progress)]);
  };
  const out = await train(
    config,
    set,
    startState(config),
    {
      onIteration: (i, epoch) => events.push(`iteration ${i} of epoch ${epoch}`),
      onEpoch: ({ seconds: _, ...stats }, s) => {
        events.push(`epoch ${stats.epoch}`);
        epochs.push(stats);
        states.push(bytesOf(s));
      },
    },
    options,
  );
  return { out, events, epochs, states, final: bytesOf(out.state) };
}

describe('evaluation in a second thread', () => {
  it("gives the same bits as evaluating in the training thread: every epoch's stats, and the state each onEpoch gets", async () => {
    for (const config of [quick, { ...quick, optimizer: 'adam', lr: 0.001, validation: 200 } satisfies TrainConfig]) {
      const here = await record(config, { threads: 1 });
      const there = await record(config, { threads: 2, evaluateInBackground: true });
      expect(there.epochs).toEqual(here.epochs);
      expect(there.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(there.states.length).toBe(3);
      there.states.forEach((s, i) => expect(Buffer.compare(s, here.states[i])).toBe(0));
      expect(Buffer.compare(there.final, here.final)).toBe(0);
      // The states differ from epoch to epoch: each is the state after its own epoch, not the live one.
      expect(Buffer.compare(there.states[0], there.states[1])).not.toBe(0);
      // The epochs are reported in order, and each after its own iterations.
      const at = (e: string) => there.events.indexOf(e);
      expect(at('epoch 1')).toBeGreaterThan(at('iteration 150 of epoch 1'));
      expect(at('epoch 2')).toBeGreaterThan(at('epoch 1'));
      expect(at('epoch 3')).toBe(there.events.length - 1);
    }
  });

  it('is the same run to run, and a run with early stopping evaluates in the training thread', async () => {
    const a = await record(quick, { threads: 2, evaluateInBackground: true });
    const b = await record(quick, { threads: 2, evaluateInBackground: true });
    expect(b.epochs).toEqual(a.epochs);
    expect(Buffer.compare(a.final, b.final)).toBe(0);
    const withPatience = { ...quick, validation: 200, patience: 1 };
    expect(evaluatesInBackground(withPatience, startState(withPatience), [data.train, data.test], { threads: 2, evaluateInBackground: true })).toBe(false);
  });

  it('starts the thread only where it pays: two threads, and 2e10 multiply-adds of evaluation that overlap training', () => {
    const sets = [mnist.train, mnist.test];
    const paper = startState(paperConfig);
    expect(evaluatesInBackground(paperConfig, paper, sets, { threads: 2 })).toBe(true);
    expect(evaluatesInBackground(paperConfig, paper, sets, { threads: 1 })).toBe(false);
    expect(evaluatesInBackground(paperConfig, paper, sets, {})).toBe(false);
    expect(evaluatesInBackground(paperConfig, paper, sets, { threads: 2, evaluateInBackground: false })).toBe(false);
    // One epoch: its only evaluation overlaps nothing.
    expect(evaluatesInBackground({ ...paperConfig, epochs: 1 }, paper, sets, { threads: 2 })).toBe(false);
    // 7,000 images with the paper's network: 3.5e9 an epoch, 7e9 for three epochs is not worth a thread.
    expect(evaluatesInBackground({ ...paperConfig, epochs: 3 }, paper, [mnist.train.take(6000), mnist.test.take(1000)], { threads: 2 })).toBe(false);
  });

  it('logs and checkpoints the last whole epoch before a diverging run stops', async () => {
    // mse on ELU with a learning rate warming up to 0.3 over three epochs diverges in the third (of 150 steps each).
    const config: TrainConfig = { ...quick, activation: 'elu', loss: 'mse', lr: 0.3, epochs: 4, warmup: 3 };
    const here = await record(config, { threads: 1 });
    const there = await record(config, { threads: 2, evaluateInBackground: true });
    expect(here.out.status).toBe('diverged');
    expect(here.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(there.out.status).toBe('diverged');
    expect(there.epochs).toEqual(here.epochs);
    // The same events, the epochs' possibly later among the iterations of the next.
    expect([...there.events].sort()).toEqual([...here.events].sort());
  });
  it('resumes from the state an epoch hands onEpoch with the thread on to the bits of the uninterrupted run', async () => {
    // What `backprop train --resume` does with a checkpoint: a fresh state, then the checkpoint's
    // tensors, optimiser buffers, generator and counters put into it (run/rundir.ts).
    const config: TrainConfig = { ...quick, optimizer: 'adam', lr: 0.001 };
    // The state after epoch 1, handed over while epoch 2 trains, used once the whole run is over.
    let saved: TrainState | undefined;
    const whole = await train(
      config,
      data,
      startState(config),
      { onEpoch: (e, s) => void (e.epoch === 1 && (saved = s)) },
      { threads: 2, evaluateInBackground: true },
    );
    expect(saved!.epoch).toBe(1);
    const state = startState(config);
    const from = saved!.net.named();
    for (const [name, t] of state.net.named()) t.array.data.set(from.get(name)!.toFlatArray());
    state.optimizer.state().forEach((b, i) => b.set(saved!.optimizer.state()[i]));
    const resumed = { ...state, rng: Rng.fromState(saved!.rng.state()), epoch: saved!.epoch, iteration: saved!.iteration };
    const out = await train(config, data, resumed, {}, { threads: 2, evaluateInBackground: true });
    expect(out.status).toBe('done');
    expect(out.epochs.map((e) => e.epoch)).toEqual([2, 3]);
    expect(Buffer.compare(weightsOf(out.state), weightsOf(whole.state))).toBe(0);
  });
});
