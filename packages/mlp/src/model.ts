/**
 * Networks defined in a model file: a TypeScript module whose default export declares the
 * parameters (names, shapes, initialisation), optional state (batchNorm's running statistics),
 * the forward pass on a tape, and optionally a hand-derived backward pass (checked against the
 * tape by `backprop gradcheck --model`). `ModelNetwork` makes one a `Network`, which `train`,
 * `evaluate` and `saveModel` take as they take the MLP. modelfile.ts loads and checks the file.
 */
import ndarray from 'ndarray';
import { allocate, full, kernels, Rng, Tensor, updateRunningStats, type BatchStats, type DType, type nn, type RunningStats, type Tape } from '@backprop/graph';
import { initNames, weightSampler, type InitName } from './init.ts';
import type { LossFunction, LossName } from './losses.ts';
import type { ForwardMode, Network } from './network.ts';

/** The `format` in the metadata of a saved network of a model file. */
export const MODEL_FORMAT = 'backprop-model/1';

/**
 * How a parameter starts, its spec, and a spec of state: the types of @backprop/graph's layers (`nn`),
 * so that a layer tree's declarations are a model file's as they are (`modelFromLayers`). `paper`,
 * `xavier` and `he` are drawn from the run's generator, and `--init` replaces them when given.
 */
export type ParameterInit = nn.ParameterInit;
export type ParameterSpec = nn.ParameterSpec;
export type StateSpec = nn.StateSpec;

/** What a forward pass gets besides the tape, the parameters and the batch. */
export interface ForwardContext {
  /** True while training: dropout drops, batchNorm normalises with the batch's statistics. */
  training: boolean;
  /** The run's generator in training (dropout masks come from it, so the seed fixes them); null in evaluation. */
  rng: Rng | null;
  /** The model's state tensors by name (read them; batchNorm below updates them). */
  state: Record<string, Tensor>;
  /** Inverted dropout with probability p in training, the identity in evaluation. */
  dropout(x: Tensor, p: number): Tensor;
  /**
   * Batch normalisation over axis 1 with the running statistics `${name}.mean` and `${name}.var`
   * (declared in `state`): in training, the batch's statistics, then the running ones updated
   * (momentum 0.1 by default); in evaluation, the running ones.
   */
  batchNorm(x: Tensor, gain: Tensor | null, bias: Tensor | null, name: string, options?: { momentum?: number; eps?: number }): Tensor;
  /** Names an intermediate value (returns it): gradcheck compares its gradient with the hand-derived pass's. */
  name(label: string, value: Tensor): Tensor;
}

/** What a hand-derived backward pass gets: one forward pass's values, on a batch in float64. */
export interface HandBackwardInput {
  /** A tape that records nothing: its ops as plain arithmetic (t.matmul, t.transpose, t.sum(x, 0), t.mul, ...). */
  t: Tape;
  /** The parameters by name (constants). */
  p: Record<string, Tensor>;
  /** The batch, [n, ...input]. */
  X: Tensor;
  labels: ArrayLike<number>;
  /** The loss dS is of: a built-in one, or `model`, the file's own (whose dS comes from the tape). */
  loss: LossName | 'model';
  /** The values the forward named with ctx.name, from the same forward pass. */
  values: Record<string, Tensor>;
  /** The scores S [n, outputs]. */
  S: Tensor;
  /** dl/dS of the batch's mean loss, from the loss's own hand-derived formula (hand.ts), not from the tape. */
  dS: Tensor;
}

export interface HandBackwardResult {
  /** dl/dθ of every parameter, by name. */
  grads: Record<string, Tensor>;
  /** dl/dv of values the forward names (each layer's dl/dH), by the same names. */
  valueGrads?: Record<string, Tensor>;
}

/** The default export of a model file. */
export interface ModelDefinition {
  /** One line on what the network is (shown by train and gradcheck). */
  description?: string;
  /** The shape of one example: [784] for the pixels in a row, [1, 28, 28] for an image with its channel. */
  input: number[];
  /** Scores per example: one per class. */
  outputs: number;
  /** The trainable tensors, by name, in the order they are drawn and saved. */
  parameters: Record<string, ParameterSpec>;
  state?: Record<string, StateSpec>;
  /** Scores S [n, outputs] of a batch X [n, ...input]. */
  forward(t: Tape, p: Record<string, Tensor>, X: Tensor, ctx: ForwardContext): Tensor;
  /**
   * The network's own loss (trained with --loss model, the default when the file has one): the
   * batch's mean loss, a scalar on the tape, of the outputs against the integer labels
   * (classification) or the targets Y [n, outputs] (regression).
   */
  loss?: LossFunction;
  /** The user's own backward pass, without the tape. */
  backward?(h: HandBackwardInput): HandBackwardResult;
}

/** A loaded model file: the path as given (for messages), the absolute file, its SHA-256, and its export. */
export interface ModelFile {
  path: string;
  file: string;
  sha256: string;
  definition: ModelDefinition;
  /** The options the file's function of options was called with (its defaults, and those given); absent for a file that exports a model. */
  options?: Record<string, unknown>;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Fan-in and fan-out of a parameter for xavier and he, declared or read off its shape. */
function fans(spec: ParameterSpec): [number, number] {
  const s = spec.shape;
  const [fanIn, fanOut] = s.length === 1 ? [s[0], s[0]] : s.length === 2 ? [s[0], s[1]] : [size(s.slice(1)), s[0] * size(s.slice(2))];
  return [spec.fanIn ?? fanIn, spec.fanOut ?? fanOut];
}

/** A parameter drawn (or filled) as its spec says; a random one with `override` instead when given. */
function makeParameter(name: string, spec: ParameterSpec, rng: Rng, override: InitName | undefined, dtype: DType): Tensor {
  const options = { dtype, requiresGrad: true, name };
  const init = override && initNames.includes(spec.init as InitName) ? override : spec.init;
  if (typeof init === 'function') return rng.tensor(spec.shape, init, options);
  if (typeof init === 'number') return full(spec.shape, init, options);
  if (init === 'zeros' || init === 'ones') return full(spec.shape, init === 'ones' ? 1 : 0, options);
  return rng.tensor(spec.shape, weightSampler(init, ...fans(spec)), options);
}

/** A model file's network: its parameters and state in a dtype, and its forward pass. */
export class ModelNetwork implements Network {
  readonly params = new Map<string, Tensor>();
  readonly state = new Map<string, Tensor>();
  readonly inputSize: number;
  readonly outputSize: number;

  /** Parameters drawn from `rng` in their declared order (`init` replaces the random initialisers), state filled. */
  constructor(
    readonly model: ModelFile,
    rng: Rng,
    options: { init?: InitName; dtype?: DType } = {},
  ) {
    const def = model.definition,
      dtype = options.dtype ?? 'float32';
    for (const [name, spec] of Object.entries(def.parameters)) this.params.set(name, makeParameter(name, spec, rng, options.init, dtype));
    for (const [name, spec] of Object.entries(def.state ?? {})) {
      const value = spec.init === 'ones' ? 1 : spec.init === 'zeros' ? 0 : spec.init;
      this.state.set(name, new Tensor(ndarray(allocate(dtype, size(spec.shape), 'owned').fill(value), [...spec.shape])));
    }
    this.inputSize = size(def.input);
    this.outputSize = def.outputs;
  }

  get dtype(): DType {
    return this.parameters()[0].dtype;
  }

  parameters(): Tensor[] {
    return [...this.params.values()];
  }

  named(): Map<string, Tensor> {
    return new Map([...this.params, ...this.state]);
  }

  describe(): Record<string, string> {
    return { format: MODEL_FORMAT, model_file: this.model.file, model_sha256: this.model.sha256 };
  }

  forward(t: Tape, X: Tensor, mode: ForwardMode = { training: false }): Tensor {
    return this.forwardWith(t, this.parameters(), X, mode);
  }

  /**
   * The forward pass with other values of the parameters (in the order of `parameters()`): what
   * gradcheck differentiates. X is [n, inputSize] (reshaped to the model's input) or [n, ...input].
   */
  forwardWith(t: Tape, params: Tensor[], X: Tensor, mode: ForwardMode = { training: false }): Tensor {
    const def = this.model.definition,
      n = X.shape[0];
    if (X.size !== n * this.inputSize) {
      throw new Error(
        `${this.model.path}: the batch has ${X.size / Math.max(n, 1)} values per example, but the model's input [${def.input}] has ${this.inputSize}`,
      );
    }
    const x = X.shape.join() === [n, ...def.input].join() ? X : t.reshape(X, [n, ...def.input]);
    const updates: { running: RunningStats; stats: BatchStats; momentum: number }[] = [];
    const rng = mode.training ? (mode.rng ?? null) : null;
    const ctx: ForwardContext = {
      training: mode.training,
      rng,
      state: Object.fromEntries(this.state),
      dropout: (h, p) => t.dropout(h, p, rng, mode.training),
      batchNorm: (h, gain, bias, name, options = {}) => {
        const running = this.running(name);
        if (!mode.training) return t.batchNorm(h, gain, bias, { training: false, running, eps: options.eps });
        const stats: BatchStats = {};
        updates.push({ running, stats, momentum: options.momentum ?? 0.1 });
        return t.batchNorm(h, gain, bias, { training: true, stats, eps: options.eps });
      },
      name: (label, value) => {
        if (!(value instanceof Tensor)) throw new Error(`ctx.name('${label}', ...): the value is not a tensor`);
        if (mode.values?.has(label)) throw new Error(`ctx.name: '${label}' is named twice in one forward pass`);
        mode.values?.set(label, value);
        return value;
      },
    };
    const p = Object.fromEntries([...this.params.keys()].map((name, i) => [name, params[i]]));
    let S: unknown;
    try {
      S = def.forward(t, p, x, ctx);
    } catch (e) {
      throw new Error(`${this.model.path}: forward: ${(e as Error).message}`);
    }
    if (!(S instanceof Tensor) || S.shape.join() !== `${n},${def.outputs}`) {
      const got = S instanceof Tensor ? `scores of shape [${S.shape}]` : String(S);
      throw new Error(`${this.model.path}: forward returned ${got}, but a batch of ${n} needs scores [${n},${def.outputs}] (outputs: ${def.outputs})`);
    }
    if (mode.training && mode.updateState !== false) for (const u of updates) updateRunningStats(u.running, u.stats, u.momentum);
    // In training a non-finite score makes the loss non-finite, which stops the run (divergence); in evaluation nothing else would see it.
    const bad = mode.training ? null : kernels.firstNonFinite(S.array);
    if (bad) {
      throw new Error(
        `${this.model.path}: forward returned the score ${S.array.get(bad[0], bad[1])} for example ${bad[0]}, class ${bad[1]}, in evaluation (ctx.training false); scores must be finite (an overflow, a division by zero, weights grown too large?)`,
      );
    }
    return S;
  }

  /** The running statistics `${name}.mean` and `${name}.var`, or an error saying how to declare them. */
  private running(name: string): RunningStats {
    const mean = this.state.get(`${name}.mean`),
      variance = this.state.get(`${name}.var`);
    if (!mean || !variance) {
      throw new Error(
        `batchNorm '${name}': the model declares no state '${name}.mean' and '${name}.var'; add state: { '${name}.mean': { shape: [C], init: 'zeros' }, '${name}.var': { shape: [C], init: 'ones' } }`,
      );
    }
    return { mean, var: variance };
  }
}
