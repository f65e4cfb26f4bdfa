/** Weight initialisers. Biases start at zero. */
import type { Rng } from '@backprop/graph';

export type InitName = 'paper' | 'xavier' | 'he';
export const initNames: InitName[] = ['paper', 'xavier', 'he'];

/** A draw for one weight of a [fanIn, fanOut] matrix. */
export function weightSampler(name: InitName, fanIn: number, fanOut: number): (rng: Rng) => number {
  switch (name) {
    case 'paper': // §3: a standard normal scaled by 1e-3
      return (rng) => 1e-3 * rng.normal();
    case 'xavier': {
      // Glorot and Bengio 2010, uniform: ±sqrt(6 / (fanIn + fanOut))
      const a = Math.sqrt(6 / (fanIn + fanOut));
      return (rng) => a * (2 * rng.uniform() - 1);
    }
    case 'he': {
      // He et al. 2015: a normal with variance 2 / fanIn
      const s = Math.sqrt(2 / fanIn);
      return (rng) => s * rng.normal();
    }
  }
}
