/**
 * The paper's activations (§2.3) as a table of { f, df }: the function and its derivative,
 * written from the input x and the output y = f(x), whichever is cheaper. The hand-derived
 * backward pass takes g' from this table, in its own loop; the tape uses the graph package's ops
 * and their kernels, so comparing the two checks one derivative against the other.
 *
 * Where the paper slips, this follows the maths: relu'(x) is 0 for x <= 0 (the paper tests the
 * output y >= 0, which always holds), and elu'(x) is 1 for x > 0 and y + alpha otherwise.
 */
import { kernels, type NdArray } from '@backprop/graph';

export type ActivationName = 'relu' | 'elu' | 'tanh' | 'sigmoid';

export interface Activation {
  name: ActivationName;
  f: (x: number) => number;
  /** dy/dx at input x with output y. */
  df: (x: number, y: number) => number;
  /**
   * f over a whole array, where the graph package has a faster kernel than mapping `f` (tanh: SIMD).
   * Only the forward: the derivative stays `df`, so that it is not the tape's code checking itself.
   */
  fArray?: (x: NdArray) => NdArray;
}

const ELU_ALPHA = 1;

export const activations: Record<ActivationName, Activation> = {
  relu: { name: 'relu', f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  elu: { name: 'elu', f: (x) => (x > 0 ? x : ELU_ALPHA * Math.expm1(x)), df: (x, y) => (x > 0 ? 1 : y + ELU_ALPHA) },
  tanh: { name: 'tanh', f: Math.tanh, df: (_x, y) => 1 - y * y, fArray: kernels.tanh },
  sigmoid: { name: 'sigmoid', f: (x) => 1 / (1 + Math.exp(-x)), df: (_x, y) => y * (1 - y) },
};

export const activationNames = Object.keys(activations) as ActivationName[];
export { ELU_ALPHA };
