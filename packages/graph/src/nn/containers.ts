/** Layers of layers: Sequential, Residual; and the stateless ones, Activation and Lambda. */
import type { Tape } from '../tape.ts';
import { formatShape, type Tensor } from '../tensor.ts';
import type { Layer, LayerContext } from './layer.ts';
import { activate, checkActivation, type ActivationName } from './linear.ts';

/**
 * Layers applied one after another. From an array, they are named by position (`0.weight`,
 * `3.bias`, as torch.nn.Sequential); from an object, by its keys (`conv1.weight`).
 */
export class Sequential implements Layer {
  readonly label: string;
  readonly layers: ReadonlyMap<string, Layer>;

  constructor(layers: readonly Layer[] | Readonly<Record<string, Layer>>) {
    const entries = Array.isArray(layers) ? layers.map((l, i) => [String(i), l] as const) : Object.entries(layers);
    if (entries.length === 0) throw new Error('Sequential: give at least one layer');
    entries.forEach(([name, l]) => {
      if (typeof l?.forward !== 'function')
        throw new Error(`Sequential: '${name}' is not a layer (an object with label and forward(t, x, ctx)), got ${String(l)}`);
      if (!/^[A-Za-z0-9_-]+$/.test(name))
        throw new Error(`Sequential: the name '${name}' must be letters, digits, _ or - (a dot separates the names of nested layers)`);
    });
    this.layers = new Map(entries);
    this.label = `Sequential(${entries.length})`;
  }

  forward(t: Tape, x: Tensor, ctx: LayerContext): Tensor {
    let h = x;
    for (const name of this.layers.keys()) h = ctx.apply(name, t, h);
    return h;
  }
}

/**
 * x + f(x): a skip connection around `inner`, whose tensors keep their names (the wrapper adds
 * none: `Residual(Linear)` at `1` has `1.weight`). f must keep the shape.
 */
export class Residual implements Layer {
  readonly label: string;
  readonly layers: ReadonlyMap<string, Layer>;

  constructor(readonly inner: Layer) {
    this.label = `Residual(${inner.label})`;
    this.layers = new Map([['', inner]]);
  }

  forward(t: Tape, x: Tensor, ctx: LayerContext): Tensor {
    const fx = ctx.apply('', t, x);
    if (fx.shape.join() !== x.shape.join())
      throw new Error(`the inner layer maps ${formatShape(x.shape)} to ${formatShape(fx.shape)}; x + f(x) needs the same shape`);
    return t.add(x, fx);
  }
}

/** An activation as a layer of its own (`new Activation('relu')`). */
export class Activation implements Layer {
  readonly label: string;
  private readonly fn: ActivationName;
  constructor(name: ActivationName) {
    this.label = `Activation(${name})`;
    if (name === undefined) throw new Error('Activation: give the name of an activation');
    this.fn = checkActivation(this.label, name)!;
  }
  forward(t: Tape, x: Tensor): Tensor {
    return activate(t, x, this.fn);
  }
}

/** Any function of the tape and the input, without parameters, as a layer: `new Lambda('square', (t, x) => t.square(x))`. */
export class Lambda implements Layer {
  constructor(
    readonly label: string,
    private readonly fn: (t: Tape, x: Tensor) => Tensor,
  ) {}
  forward(t: Tape, x: Tensor): Tensor {
    return this.fn(t, x);
  }
}
