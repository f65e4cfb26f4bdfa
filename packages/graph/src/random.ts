/** Seeded random numbers (pure-rand's xoroshiro128+): the same seed gives the same bits. */
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import ndarray from 'ndarray';
import { allocate, lifetimeOf, Tensor, type DType, type Shape, type TensorOptions } from './tensor.ts';

type Generator = ReturnType<typeof xoroshiro128plus>;

/** A seeded generator: tensors of random draws (`randn`, `rand`), and the numbers and shuffles a run needs. */
export class Rng {
  private constructor(private readonly gen: Generator) {}

  /** A generator from a seed: the same seed gives the same sequence on every machine. */
  static seeded(seed: number): Rng {
    return new Rng(xoroshiro128plus(seed));
  }
  /** Restores a generator saved with `state()` (to resume a run exactly). */
  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }
  /** The generator's state, to save in a checkpoint and restore with `fromState`. */
  state(): number[] {
    return [...this.gen.getState()];
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return uniformFloat64(this.gen);
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return uniformInt(this.gen, 0, n - 1);
  }
  /** Standard normal (Box-Muller; one draw per call, so the sequence does not depend on parity). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
  /** A tensor of independent draws. */
  tensor(shape: Shape, draw: (rng: Rng) => number, options: TensorOptions & { dtype?: DType } = {}): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = allocate(options.dtype ?? 'float32', size, lifetimeOf(options));
    for (let i = 0; i < size; i++) data[i] = draw(this);
    return new Tensor(ndarray(data, [...shape]), { madeBy: 'Rng.tensor', ...options });
  }
  /** A tensor of standard normal draws. */
  randn(shape: Shape, options: TensorOptions = {}): Tensor {
    return this.tensor(shape, (r) => r.normal(), options);
  }
  /** A tensor of uniform draws in [0, 1). */
  rand(shape: Shape, options: TensorOptions = {}): Tensor {
    return this.tensor(shape, (r) => r.uniform(), options);
  }
}
