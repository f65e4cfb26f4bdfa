/**
 * @backprop/mlp/example: worked examples and exercises of one step of gradient descent by hand, as
 * derivation files (what `backprop example` and the site's exercises panel make). Browser-safe:
 * nothing on its import graph uses a Node built-in.
 *
 * @module @backprop/mlp/example
 */
export { exampleText, type ExampleArgs, type ValuesReader } from './text.ts';
export { parseLayers } from '../mlp.ts';
export { generateExample, type ExampleOptions } from './generate.ts';
export type { ExampleSpec, OutputActivation } from './network.ts';
export { activationNames, type ActivationName } from '../activations.ts';
export { classifies, drawValues, exampleLosses, paperExample, type Bias, type ExampleLoss, type ExampleValues } from './values.ts';
