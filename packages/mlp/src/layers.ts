/**
 * A model file from a layer tree: `export default modelFromLayers(net, { input, outputs })` declares
 * the tree's parameters and state (by their names, in their order, with their initialisation) and runs
 * it as the forward pass, so that a network of @backprop/graph's `nn` layers trains from the command
 * line with the same draws as the same tensors declared by hand.
 */
import { nn, type Tensor } from '@backprop/graph';
import type { ModelDefinition } from './model.ts';

export interface ModelFromLayersOptions {
  /** The shape of one example ([784], [1, 28, 28]). */
  input: number[];
  /** Scores per example. */
  outputs: number;
  description?: string;
  /**
   * The names the model file gives the tree's tensors (`0.weight` -> `W1`): to keep the names of an
   * earlier file, whose checkpoints then load. A batchNorm's `P.mean` and `P.var` must become `Q.mean` and `Q.var`.
   */
  rename?: (name: string) => string;
}

/** The model file's definition of a layer tree (see ModelFromLayersOptions). */
export function modelFromLayers(layer: nn.Layer, options: ModelFromLayersOptions): ModelDefinition {
  const { parameters, state } = nn.declared(layer);
  const rename = options.rename ?? ((name: string) => name);
  const names = new Map<string, string>(); // tree name -> file name
  for (const name of [...parameters.keys(), ...state.keys()]) {
    const to = rename(name);
    if ([...names.values()].includes(to)) throw new Error(`modelFromLayers: rename gives '${name}' the name '${to}', which another tensor has`);
    names.set(name, to);
  }
  const stem = (path: string, what: 'mean' | 'var') => {
    const to = names.get(path ? `${path}.${what}` : what)!;
    if (!to.endsWith(`.${what}`)) throw new Error(`modelFromLayers: rename must keep a batchNorm's running statistics as NAME.${what}, but gives '${to}'`);
    return to.slice(0, -what.length - 1);
  };
  const bad = [...names.values()].find((n) => !/^[A-Za-z_]/.test(n));
  if (bad)
    throw new Error(
      `modelFromLayers: the tensor '${bad}' starts with a digit, which a model file's names may not: name the layers (new Sequential({ fc1: ... })) or pass rename`,
    );
  return {
    ...(options.description === undefined ? {} : { description: options.description }),
    input: options.input,
    outputs: options.outputs,
    parameters: Object.fromEntries([...parameters].map(([name, spec]) => [names.get(name)!, spec])),
    ...(state.size ? { state: Object.fromEntries([...state].map(([name, spec]) => [names.get(name)!, spec])) } : {}),
    forward(t, p, X, ctx) {
      const values = new Map<string, Tensor>();
      for (const [name, to] of names) values.set(name, p[to] ?? ctx.state[to]);
      return nn.runLayer(layer, t, X, {
        values,
        training: ctx.training,
        dropout: (x, rate) => ctx.dropout(x, rate),
        batchNorm: (x, gain, bias, path, opts) => {
          const a = stem(path, 'mean'),
            b = stem(path, 'var');
          if (a !== b) throw new Error(`modelFromLayers: rename must name a batchNorm's statistics alike, got '${a}.mean' and '${b}.var'`);
          return ctx.batchNorm(x, gain, bias, a, opts);
        },
      });
    },
  };
}
