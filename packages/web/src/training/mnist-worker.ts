/**
 * The training worker: one run at a time of @backprop/mlp's `train` (single-threaded, evaluated
 * after every epoch in this thread) on MNIST fetched by data.ts, with the CLI's settings and bits.
 * Messages (protocol.ts) are seen where the loop yields, about every tenth of a second: there a run
 * stops (and waits to continue), and a drawn digit gets the scores of the network as it is then.
 */
import { tensor, tidy } from '@backprop/graph';
import { ModelNetwork, scores, startState, train, type Dataset, type ModelFile, type Network, type TrainState } from '@backprop/mlp/core';
import lenet from '../../../../examples/models/lenet.ts';
import { fetchSplit } from './data.ts';
import type { FromWorker, RunSettings, ToWorker } from './protocol.ts';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

/** The data, fetched once per worker (and kept in Cache Storage across visits). */
let mnist: Promise<{ train: Dataset; test: Dataset }> | undefined;
/** The network trained last (or being trained): what a drawn digit is scored by. */
let net: Network | undefined;

/** examples/models/lenet.ts as `backprop train --model examples/models/lenet.ts` loads it (bundled here: a page imports no file). */
const lenetFile: ModelFile = { path: 'examples/models/lenet.ts', file: 'examples/models/lenet.ts', sha256: '', definition: lenet };
/** The run in progress: `generation` tells a replaced run to end at its next yield. */
let generation = 0;
let stopRequested = false;
let resume: (() => void) | undefined;

class Replaced extends Error {}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === 'start') {
    const mine = ++generation;
    stopRequested = false;
    resume?.(); // a stopped run wakes up to see that it was replaced
    run(m.run, m.data, mine).catch((error: unknown) => {
      if (!(error instanceof Replaced)) post({ type: 'error', message: (error as Error).message });
    });
  } else if (m.type === 'stop') stopRequested = true;
  else if (m.type === 'continue') {
    stopRequested = false;
    resume?.();
  } else if (m.type === 'scores') post({ type: 'scores', id: m.id, scores: net ? scoresOf(net, m.pixels) : null });
};

/** The ten scores of one image under `network` as it is now (between two steps). */
function scoresOf(network: Network, pixels: Float32Array): number[] {
  return tidy(() => {
    const X = tensor(Float32Array.from(pixels), { shape: [1, pixels.length] });
    return Array.from(scores(network, X).toFlatArray());
  });
}

async function run(settings: RunSettings, data: string, mine: number): Promise<void> {
  if (!mnist) {
    post({ type: 'loading', what: 'MNIST' });
    const base = new URL(data, self.location.href).href;
    mnist = Promise.all([fetchSplit(base, 'train'), fetchSplit(base, 't10k')]).then(([train, test]) => ({ train, test }));
    mnist.catch(() => (mnist = undefined)); // fetched again by the next run
  }
  const all = await mnist;
  if (mine !== generation) throw new Replaced();
  // --subset N: the first N training images, the first ceil(N / 6) test images (prepareRunData in the CLI).
  const sets = { train: all.train.take(settings.subset), test: all.test.take(Math.ceil(settings.subset / 6)) };
  const config = { ...settings };
  // The CLI's start (rundir.ts): the MLP of the settings, or the model file's network with its own initialisers.
  const state: TrainState = settings.model === 'lenet' ? startState(config, (rng) => new ModelNetwork(lenetFile, rng)) : startState(config);
  net = state.net;
  post({ type: 'started', trainImages: sets.train.count, testImages: sets.test.count, stepsPerEpoch: Math.ceil(sets.train.count / config.batchSize) });
  let losses: number[] = [];
  let last = { iteration: 0, epoch: 1 };
  const flush = () => {
    if (losses.length) post({ type: 'progress', ...last, losses });
    losses = [];
  };
  const outcome = await train(config, sets, state, {
    onIteration(iteration, epoch, loss) {
      losses.push(loss);
      last = { iteration, epoch };
    },
    onTrained: flush,
    onEpoch: (stats) => post({ type: 'epoch', stats }),
    async onYield() {
      if (mine !== generation) throw new Replaced();
      flush();
      if (!stopRequested) return;
      post({ type: 'stopped', iteration: state.iteration });
      while (stopRequested && mine === generation) await new Promise<void>((r) => (resume = r));
      resume = undefined;
      if (mine !== generation) throw new Replaced();
      post({ type: 'continued' });
    },
  });
  flush();
  const weights = state.net.parameters().map((p) => {
    const a = p.array;
    return Float32Array.from(a.data.subarray(a.offset, a.offset + p.size) as Float32Array);
  });
  post(
    { type: 'done', status: outcome.status, message: outcome.status === 'diverged' ? outcome.message : undefined, weights },
    weights.map((w) => w.buffer),
  );
}
