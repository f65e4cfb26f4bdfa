/**
 * A layer tree with its tensors: `Model.init(layer, rng)` draws the parameters the tree declares and
 * fills its state; `forward` runs it. The draws are those of a model file with the same declarations
 * (@backprop/mlp's ModelNetwork), so that both start from the same bits.
 */
import ndarray from 'ndarray';
import { allocate, full, Tensor, type DType } from '../tensor.ts';
import { Rng } from '../random.ts';
import { updateRunningStats, type BatchStats, type RunningStats } from '../ops/norm.ts';
import type { Tape } from '../tape.ts';
import { declared, runLayer, type Layer, type ParameterSpec, type Runtime, type StateSpec } from './layer.ts';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Fan-in and fan-out for xavier and he: declared, or from the shape ([in, out]; [out, in / groups, kh, kw]). */
function fans(spec: ParameterSpec): [number, number] {
  const s = spec.shape;
  const [fanIn, fanOut] = s.length === 1 ? [s[0], s[0]] : s.length === 2 ? [s[0], s[1]] : [size(s.slice(1)), s[0] * size(s.slice(2))];
  return [spec.fanIn ?? fanIn, spec.fanOut ?? fanOut];
}

/** A draw for one entry of a parameter initialised by name (the formulas of @backprop/mlp's weightSampler). */
function sampler(init: 'paper' | 'xavier' | 'he', fanIn: number, fanOut: number): (rng: Rng) => number {
  if (init === 'paper') return (rng) => 1e-3 * rng.normal();
  if (init === 'xavier') {
    const a = Math.sqrt(6 / (fanIn + fanOut)); // Glorot and Bengio 2010, uniform
    return (rng) => a * (2 * rng.uniform() - 1);
  }
  const s = Math.sqrt(2 / fanIn); // He et al. 2015
  return (rng) => s * rng.normal();
}

/** A parameter as its spec says, drawn from `rng` when random. */
export function initParameter(spec: ParameterSpec, rng: Rng, dtype: DType = 'float32'): Tensor {
  const options = { dtype, requiresGrad: true },
    init = spec.init;
  if (typeof init === 'function') return rng.tensor(spec.shape, init, options);
  if (typeof init === 'number') return full(spec.shape, init, options);
  if (init === 'zeros' || init === 'ones') return full(spec.shape, init === 'ones' ? 1 : 0, options);
  return rng.tensor(spec.shape, sampler(init, ...fans(spec)), options);
}

/** A state tensor filled as its spec says (owned by the model, never by a scope). */
export function initState(spec: StateSpec, dtype: DType = 'float32'): Tensor {
  const value = spec.init === 'ones' ? 1 : spec.init === 'zeros' ? 0 : spec.init;
  return new Tensor(ndarray(allocate(dtype, size(spec.shape), 'owned').fill(value), [...spec.shape]));
}

/** How `Model.forward` runs: training (dropout from `rng`, batch statistics) or evaluation (the default). */
export interface ModelMode {
  training?: boolean;
  /** The step's generator: dropout masks are drawn from it in training. */
  rng?: Rng | null;
  /** In training, fold the batch statistics into the running ones (default true; false for gradcheck). */
  updateState?: boolean;
}

/** A layer tree and its tensors. */
export class Model {
  constructor(
    readonly layer: Layer,
    readonly params: Map<string, Tensor>,
    readonly state: Map<string, Tensor>,
  ) {}

  /**
   * The tree's parameters drawn from `rng` in their declared order, its state filled; each tensor is
   * named by its path (`0.weight`), which errors (an optimiser's, backward's version check) and
   * pictures of the tape show.
   */
  static init(layer: Layer, rng: Rng, options: { dtype?: DType } = {}): Model {
    const { parameters, state } = declared(layer);
    const named = (name: string, t: Tensor) => Object.assign(t, { name });
    const params = new Map([...parameters].map(([name, spec]) => [name, named(name, initParameter(spec, rng, options.dtype))]));
    return new Model(layer, params, new Map([...state].map(([name, spec]) => [name, named(name, initState(spec, options.dtype))])));
  }

  /** The trainable tensors, in order (for an optimiser). */
  parameters(): Tensor[] {
    return [...this.params.values()];
  }

  /** Every tensor by name: the parameters, then the state (what a checkpoint keeps). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.params, ...this.state]);
  }

  /** The output for x; in training, batchNorm's running statistics are updated once the pass is through. */
  forward(t: Tape, x: Tensor, mode: ModelMode = {}): Tensor {
    const training = mode.training ?? false,
      rng = training ? (mode.rng ?? null) : null;
    const values = this.stateDict(),
      updates: { running: RunningStats; stats: BatchStats; momentum: number }[] = [];
    const rt: Runtime = {
      values,
      training,
      dropout: (h, rate) => t.dropout(h, rate, rng, training),
      batchNorm: (h, gain, bias, path, options) => {
        const running = { mean: values.get(path ? `${path}.mean` : 'mean')!, var: values.get(path ? `${path}.var` : 'var')! };
        if (!training) return t.batchNorm(h, gain, bias, { training: false, running, eps: options.eps });
        const stats: BatchStats = {};
        updates.push({ running, stats, momentum: options.momentum ?? 0.1 });
        return t.batchNorm(h, gain, bias, { training: true, stats, eps: options.eps });
      },
    };
    const y = runLayer(this.layer, t, x, rt);
    if (training && mode.updateState !== false) for (const u of updates) updateRunningStats(u.running, u.stats, u.momentum);
    return y;
  }
}
