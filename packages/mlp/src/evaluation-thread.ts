/**
 * Evaluation in a second thread: after an epoch, a copy of the MLP's weights goes to a worker
 * thread, which evaluates it on the training and test sets while this thread trains the next
 * epoch. The worker runs the same `evaluate` on the same kernels (it inherits BACKPROP_KERNELS), one
 * thread of its own, so its numbers are the bits the training thread would have computed.
 *
 * The worker starts on first use, not on import; it keeps the process alive only while it has an
 * evaluation to answer (unref'd when idle), and `close` ends it.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { Rng, type Data, type DType } from '@backprop/graph';
import type { LossName } from './losses.ts';
import { MLP, type MLPSpec } from './mlp.ts';
import { Dataset, shared } from './mnist.ts';
import { evaluate, type Evaluation } from './train.ts';

/** A data set as it crosses to the worker: its bytes in memory both threads share (loadSplit puts them there). */
interface SetData {
  images: Uint8Array | Float64Array;
  labels: Uint8Array | Int32Array;
  rows: number;
  cols: number;
  classes: number;
  shape: number[];
}

interface WorkerInput {
  spec: MLPSpec;
  dtype: DType;
  loss: LossName;
  sets: SetData[];
}

type Reply = { id: number; evaluations: Evaluation[]; seconds: number } | { id: number; error: string };

/**
 * The worker's entry, beside this module: compiled (dist/evaluation-worker.js), or, when this module
 * runs from its TypeScript source (the tests), a bootstrap that registers tsx in the worker first.
 */
const workerEntry = new URL(import.meta.url.endsWith('.ts') ? './evaluation-worker-source.mjs' : './evaluation-worker.js', import.meta.url);

export class EvaluationThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (r: { evaluations: Evaluation[]; seconds: number }) => void; reject: (e: Error) => void }>();
  #next = 0;
  #failure: Error | undefined;

  /** A worker that evaluates networks of `net`'s architecture on `sets` (in this order) with `loss`. */
  constructor(net: MLP, sets: Dataset[], loss: LossName) {
    const input: WorkerInput = {
      spec: { sizes: net.sizes, activation: net.activation },
      dtype: net.dtype,
      loss,
      sets: sets.map((d) => ({ images: shared(d.images), labels: shared(d.labels), rows: d.rows, cols: d.cols, classes: d.classes, shape: d.shape })),
    };
    this.#worker = new Worker(workerEntry, { workerData: input, env: { ...process.env } });
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const waiting = this.#waiting.get(reply.id);
      if (!waiting) return;
      this.#settled(reply.id);
      if ('error' in reply) waiting.reject(new Error(`evaluation thread: ${reply.error}`));
      else waiting.resolve(reply);
    });
    this.#worker.on('error', (e) => this.#fail(new Error(`evaluation thread: ${e.message}`)));
    this.#worker.on('exit', (code) => this.#fail(new Error(`evaluation thread: stopped (exit code ${code}) before it answered`)));
  }

  /**
   * The evaluations, on each set, of the weights `net` holds now (copied: `net` may go on training
   * at once), and the seconds the worker took.
   */
  evaluate(net: MLP): Promise<{ evaluations: Evaluation[]; seconds: number }> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#next++;
    const weights = net.parameters().map((p) => {
      const a = p.array; // parameters are contiguous, row-major
      return a.data.slice(a.offset, a.offset + p.size);
    });
    const answer = new Promise<{ evaluations: Evaluation[]; seconds: number }>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    if (this.#waiting.size === 1) this.#worker.ref(); // a pending answer keeps the process alive
    this.#worker.postMessage(
      { id, weights },
      weights.map((w) => w.buffer as ArrayBuffer),
    );
    return answer;
  }

  /** Ends the worker (pending evaluations are rejected). */
  async close(): Promise<void> {
    this.#fail(new Error('evaluation thread: closed'));
    await this.#worker.terminate();
  }

  #settled(id: number): void {
    this.#waiting.delete(id);
    if (this.#waiting.size === 0) this.#worker.unref();
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    for (const [id, { reject }] of this.#waiting) {
      this.#settled(id);
      reject(e);
    }
  }
}

/** The worker's side: builds the network once, then evaluates each set of weights it is sent. */
export function serve(): void {
  const { spec, dtype, loss, sets } = workerData as WorkerInput;
  const net = MLP.init(spec, Rng.seeded(0), { dtype }); // its weights are replaced before every evaluation
  const data = sets.map((s) => new Dataset(s.images, s.labels, s.rows, s.cols, s.classes, { shape: s.shape }));
  parentPort!.on('message', ({ id, weights }: { id: number; weights: Data[] }) => {
    let reply: Reply;
    try {
      net.parameters().forEach((p, i) => p.update((a) => a.data.set(weights[i])));
      const started = performance.now();
      const evaluations = data.map((d) => evaluate(net, d, loss));
      reply = { id, evaluations, seconds: (performance.now() - started) / 1000 };
    } catch (e) {
      reply = { id, error: (e as Error).message };
    }
    parentPort!.postMessage(reply);
  });
}
