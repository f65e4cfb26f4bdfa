/**
 * Layers: descriptions of a piece of network (data: the tensors it needs and how they start) with a
 * pure forward pass on a tape. A layer holds no tensors; its parameters and state live in a flat map
 * of names to tensors (torch's state_dict: `conv1.weight`, `0.bias`, `3.mean`), made by `Model.init`
 * here or by a model file's network (`modelFromLayers` in @backprop/mlp) from the same declarations.
 */
import type { Tape } from '../tape.ts';
import { formatShape, type Shape, type Tensor } from '../tensor.ts';
import type { Rng } from '../random.ts';

/**
 * How a parameter starts: `xavier` (Glorot uniform), `he` (a normal of variance 2 / fanIn), `paper`
 * (a standard normal times 1e-3), `zeros`, `ones`, a constant, or a draw per entry from the generator.
 */
export type ParameterInit = 'paper' | 'xavier' | 'he' | 'zeros' | 'ones' | number | ((rng: Rng) => number);

/** A trainable tensor of a layer: its shape, how it starts, and the fans xavier and he use. */
export interface ParameterSpec {
  shape: number[];
  init: ParameterInit;
  /**
   * Inputs and outputs of a unit, for xavier and he. By default from the shape: [in, out] for a
   * matrix (X W), [out, in / groups, kh, kw] for the filters of a convolution.
   */
  fanIn?: number;
  fanOut?: number;
}

/** A tensor of a layer's state, saved with it but not trained (batchNorm's running statistics). */
export interface StateSpec {
  shape: number[];
  init: 'zeros' | 'ones' | number;
}

/** What a layer's forward pass gets besides the tape and its input. */
export interface LayerContext {
  /** This layer's own parameters and state, by the names it declares (`p.weight`, `p.mean`). */
  readonly p: Readonly<Record<string, Tensor>>;
  /** True while training: dropout drops, batchNorm uses the batch's statistics. */
  readonly training: boolean;
  /** Where the layer sits in the tree (`conv1`, `1.0`; '' for the root): the prefix of its tensors' names. */
  readonly path: string;
  /** Runs the sub-layer declared as `name` in `layers` on x. */
  apply(name: string, t: Tape, x: Tensor): Tensor;
  /** Inverted dropout with probability `rate` in training (masks from the step's generator), the identity in evaluation. */
  dropout(x: Tensor, rate: number): Tensor;
  /**
   * Batch normalisation over axis 1 with this layer's state `mean` and `var` as running statistics:
   * the batch's statistics in training (folded into the running ones once the forward pass is
   * through), the running ones in evaluation.
   */
  batchNorm(x: Tensor, gain: Tensor | null, bias: Tensor | null, options?: { momentum?: number; eps?: number }): Tensor;
}

/**
 * A layer. Its tensors are named `${path}.${name}`: first its own `parameters` (drawn in this order),
 * then those of its `layers` in order (a sub-layer named '' adds no prefix: a wrapper); `state` after
 * every parameter. Write your own as an object or a class with these fields.
 */
export interface Layer {
  /** What the layer is, for errors: `Linear(784, 64)`. */
  readonly label: string;
  readonly parameters?: Readonly<Record<string, ParameterSpec>>;
  readonly state?: Readonly<Record<string, StateSpec>>;
  /** Sub-layers, in order. */
  readonly layers?: ReadonlyMap<string, Layer>;
  forward(t: Tape, x: Tensor, ctx: LayerContext): Tensor;
}

/** Every tensor a layer tree declares, by full name, in the order they are drawn and saved. */
export interface Declared {
  parameters: Map<string, ParameterSpec>;
  state: Map<string, StateSpec>;
}

const join = (path: string, name: string) => (path && name ? `${path}.${name}` : path || name);

/** The parameters and state of a layer tree by their full names; an error names a name declared twice. */
export function declared(layer: Layer): Declared {
  const out: Declared = { parameters: new Map(), state: new Map() };
  const add = <S>(map: Map<string, S>, name: string, spec: S, at: Layer) => {
    if (out.parameters.has(name) || out.state.has(name))
      throw new Error(`${at.label}: the tensor '${name}' is declared twice; give the sub-layers different names`);
    map.set(name, spec);
  };
  const walkParameters = (l: Layer, path: string): void => {
    for (const [name, spec] of Object.entries(l.parameters ?? {})) add(out.parameters, join(path, name), spec, l);
    for (const [name, sub] of l.layers ?? []) walkParameters(sub, join(path, name));
  };
  const walkState = (l: Layer, path: string): void => {
    for (const [name, spec] of Object.entries(l.state ?? {})) add(out.state, join(path, name), spec, l);
    for (const [name, sub] of l.layers ?? []) walkState(sub, join(path, name));
  };
  walkParameters(layer, '');
  walkState(layer, '');
  return out;
}

/** What running a layer tree needs: every tensor by full name, the mode, and how dropout and batchNorm run. */
export interface Runtime {
  values: ReadonlyMap<string, Tensor>;
  training: boolean;
  dropout(x: Tensor, rate: number): Tensor;
  /** batchNorm with the running statistics `${path}.mean` and `${path}.var`. */
  batchNorm(x: Tensor, gain: Tensor | null, bias: Tensor | null, path: string, options: { momentum?: number; eps?: number }): Tensor;
}

/** An error already prefixed with the layer it happened in (so that enclosing layers pass it on as it is). */
class LayerError extends Error {}

/** Runs `layer` (at `path` in the tree) on x; an error comes back as one line naming the layer and where it sits. */
export function runLayer(layer: Layer, t: Tape, x: Tensor, rt: Runtime, path: string = ''): Tensor {
  const p: Record<string, Tensor> = {};
  for (const name of [...Object.keys(layer.parameters ?? {}), ...Object.keys(layer.state ?? {})]) {
    const v = rt.values.get(join(path, name));
    if (!v) throw new LayerError(`${where(layer, path)}: no tensor '${join(path, name)}' was given (make them with Model.init)`);
    p[name] = v;
  }
  const ctx: LayerContext = {
    p,
    training: rt.training,
    path,
    apply: (name, t2, x2) => {
      const sub = layer.layers?.get(name);
      if (!sub)
        throw new LayerError(
          `${where(layer, path)}: has no sub-layer '${name}' (it has ${[...(layer.layers?.keys() ?? [])].map((n) => `'${n}'`).join(', ') || 'none'})`,
        );
      return runLayer(sub, t2, x2, rt, join(path, name));
    },
    dropout: (h, rate) => rt.dropout(h, rate),
    batchNorm: (h, gain, bias, options = {}) => rt.batchNorm(h, gain, bias, path, options),
  };
  try {
    return layer.forward(t, x, ctx);
  } catch (e) {
    if (e instanceof LayerError) throw e;
    throw new LayerError(`${where(layer, path)}: ${(e as Error)?.message ?? String(e)}`);
  }
}

const where = (layer: Layer, path: string) => (path ? `${layer.label} '${path}'` : layer.label);

/** Checks x's shape against what a layer takes: `dims` sizes from the end (null for any), at least `rank` axes. */
export function expectInput(x: Tensor, rank: number, dims: (number | null)[], layout: string, exact = false): void {
  const s: Shape = x.shape;
  const fits = (exact ? s.length === rank : s.length >= rank) && dims.every((d, i) => d === null || s[s.length - dims.length + i] === d);
  if (!fits) throw new Error(`expects input ${layout}, got ${formatShape(s)}`);
}
