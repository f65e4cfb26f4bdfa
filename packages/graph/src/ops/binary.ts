/** Binary ops: the matrix product and elementwise arithmetic with broadcasting. */
import * as k from '../kernels/index.ts';
import { formatShape, type NdArray, type Tensor } from '../tensor.ts';
import { broadcastOrThrow, defineOp, expectSameDtype, operand, wrap, type Forward, type Operand, type Gradients } from '../op.ts';
import { sumTo } from './shape.ts';
import type { Tape } from '../tape.ts';
import { RowSparseTensor } from '../rowsparse.ts';

/**
 * A B: for 2-D tensors the matrix product (`tape.transpose(a)`, an O(1) view, gives the transposed
 * products); for A [..., m, k] and B [..., k, n], a product per index of the leading axes, which
 * broadcast as numpy's matmul does ([8, 1, m, k] by [4, k, n] is [8, 4, m, n]).
 */
export const matmul = defineOp(
  'matmul',
  (a: Tensor, b: Tensor) => {
    expectSameDtype('matmul', a, b);
    for (const [what, x] of [
      ['left', a],
      ['right', b],
    ] as const) {
      if (x.rank < 2)
        throw new Error(`matmul: the ${what} operand has shape ${formatShape(x.shape)}, not [..., rows, columns]; reshape a vector to [1, n] or [n, 1]`);
    }
    const k1 = a.shape[a.rank - 1],
      k2 = b.shape[b.rank - 2];
    if (k1 !== k2) throw new Error(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: ${k1} != ${k2}`);
    if (a.rank > 2 || b.rank > 2) return batchedMatmul(a, b);
    // With a sparse a, the rows of the product where a's row is all zero are left to be zeroed when
    // read (rowsparse.ts): in dB = Aᵀ G of a batch of MNIST images, the pixels no image has.
    // Where the kernels can (a short shared axis: Xᵀ G at batch 8), the product is computed when read,
    // or added to a weight by plain SGD without being written at all.
    const later = k.deferredProduct(a.array, b.array);
    const now = later ? null : k.matmulRowSparse(a.array, b.array);
    return {
      out: later ? RowSparseTensor.product(later.C, later.a, later.b) : now!.rows ? new RowSparseTensor(now!.array, now!.rows) : wrap(now!.array),
      // saves a and b: dA = G B^T, dB = A^T G (transposes are views)
      backward(g, needs, t): Gradients {
        return [needs[0] ? t.matmul(g, t.transpose(b)) : null, needs[1] ? t.matmul(t.transpose(a), g) : null];
      },
    };
  },
  'dA = G·Bᵀ, dB = Aᵀ·G (over the leading axes: summed back over those A or B was broadcast along)',
);

/** matmul over leading axes (the 2-D path above keeps its own code): a 2-D product per index of the broadcast leading axes. */
function batchedMatmul(a: Tensor, b: Tensor): Forward {
  const batch = k.broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!batch) {
    const n = Math.max(a.rank, b.rank) - 2,
      da = (d: number) => a.shape[a.rank - 2 - n + d] ?? 1,
      db = (d: number) => b.shape[b.rank - 2 - n + d] ?? 1;
    const d = [...Array(n).keys()].find((i) => da(i) !== db(i) && da(i) !== 1 && db(i) !== 1)!;
    throw new Error(`matmul: cannot broadcast the leading axes of ${formatShape(a.shape)} and ${formatShape(b.shape)}: ${da(d)} != ${db(d)}`);
  }
  return {
    out: wrap(k.matmulBatched(a.array, b.array, batch)),
    // saves a and b: dA = G Bᵀ, dB = Aᵀ G (each over the last two axes), summed back to the operand's shape
    backward(g, needs, t): Gradients {
      return [needs[0] ? sumTo(t, t.matmul(g, swapLast(t, b)), a.shape) : null, needs[1] ? sumTo(t, t.matmul(swapLast(t, a), g), b.shape) : null];
    },
  };
}

/** x with its last two axes swapped (a view on the tape): the transpose of each matrix of a batch. */
const swapLast = (t: Tape, x: Tensor) => t.transpose(x, [...Array(x.rank - 2).keys(), x.rank - 1, x.rank - 2]);

/** The axes permuted (numpy's transpose), reversed by default: an O(1) view forward, and a view of g backward. */
export const transpose = defineOp(
  'transpose',
  (x: Tensor, axes?: readonly number[]) => {
    const perm = axes ?? x.shape.map((_, i) => x.rank - 1 - i);
    if (!Array.isArray(perm) || perm.length !== x.rank || !x.shape.every((_, d) => perm.includes(d))) {
      throw new Error(
        `transpose: axes ${JSON.stringify(axes)} are not a permutation of the ${x.rank} axes of ${formatShape(x.shape)} (0 to ${x.rank - 1}, each once)`,
      );
    }
    const inverse = perm.map((_, d) => perm.indexOf(d));
    return {
      out: wrap(x.array.transpose(...perm)),
      saves: [],
      backward(g, _needs, t): Gradients {
        return [axes ? t.transpose(g, inverse) : t.transpose(g), null];
      },
    };
  },
  'dx = g with the axes permuted back',
);

/** A constant mask (1 where `test` holds, 0 elsewhere) of x and y broadcast to `shape`: where a gradient goes. */
const mask = (x: Tensor, y: Tensor, shape: number[], test: (a: number, b: number) => boolean) =>
  wrap(k.zip(x.array, y.array, shape, (a, b) => (test(a, b) ? 1 : 0)));

/** `v` read as `shape` (a broadcast view when it is smaller). */
const viewAs = (v: Tensor, shape: number[]) => (k.sameShape(shape, v.shape) ? v.array : k.broadcastView(v.array, shape));

/** dl/d(input) of an elementwise op over the broadcast shape, from g, the inputs x and y, with ops of `t`. */
type Local = (g: Tensor, x: Tensor, y: Tensor, t: Tape, shape: number[], input: 0 | 1) => Tensor;

/**
 * An elementwise binary op with numpy broadcasting. Its backward gives dl/da and dl/db over the
 * broadcast shape with ops of the tape, each then summed back to its input's shape (a row-vector
 * bias gets the column sums). `kernel`, when given, computes the op over the arrays (faster than
 * zipping `f`, which stays the reference). `readsValues` false: its backward reads only shapes (add, sub).
 */
function elementwise(
  name: string,
  f: (x: number, y: number) => number,
  local: Local,
  rule: string,
  kernel?: (a: NdArray, b: NdArray, shape: number[]) => NdArray,
  readsValues = true,
) {
  return defineOp(
    name,
    (a: Operand, b: Operand) => {
      const x = operand(a, b),
        y = operand(b, a);
      expectSameDtype(name, x, y);
      const shape = broadcastOrThrow(name, x, y);
      return {
        out: wrap(kernel ? kernel(x.array, y.array, shape) : k.zip(viewAs(x, shape), viewAs(y, shape), shape, f)),
        saves: readsValues ? [x, y] : [],
        backward(g, needs, t): Gradients {
          return [needs[0] ? sumTo(t, local(g, x, y, t, shape, 0), x.shape) : null, needs[1] ? sumTo(t, local(g, x, y, t, shape, 1), y.shape) : null];
        },
      };
    },
    rule,
  );
}

export const add = elementwise(
  'add',
  (x, y) => x + y,
  (g) => g,
  'da = g, db = g (summed over broadcast axes)',
  k.add,
  false,
);
export const sub = elementwise(
  'sub',
  (x, y) => x - y,
  (g, _x, _y, t, _s, i) => (i === 0 ? g : t.neg(g)),
  'da = g, db = -g',
  undefined,
  false,
);
export const mul = elementwise(
  'mul',
  (x, y) => x * y,
  (g, x, y, t, _s, i) => t.mul(g, i === 0 ? y : x),
  'da = g·b, db = g·a',
);
export const div = elementwise(
  'div',
  (x, y) => x / y,
  (g, x, y, t, _s, i) => (i === 0 ? t.div(g, y) : t.neg(t.div(t.mul(g, x), t.square(y)))),
  'da = g/b, db = -g·a/b²',
);
/** Elementwise max(a, b); the gradient goes to a where a >= b (a tie is a kink). */
export const maximum = elementwise(
  'maximum',
  (x, y) => (x >= y ? x : y),
  (g, x, y, t, shape, i) => t.mul(g, mask(x, y, shape, i === 0 ? (a, b) => a >= b : (a, b) => a < b)),
  'da = g where a >= b, db = g elsewhere',
);
/** Elementwise min(a, b); the gradient goes to a where a <= b. */
export const minimum = elementwise(
  'minimum',
  (x, y) => (x <= y ? x : y),
  (g, x, y, t, shape, i) => t.mul(g, mask(x, y, shape, i === 0 ? (a, b) => a <= b : (a, b) => a > b)),
  'da = g where a <= b, db = g elsewhere',
);
