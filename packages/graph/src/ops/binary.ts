/** Binary ops: the matrix product and elementwise arithmetic with broadcasting. */
import * as k from '../kernels/index.ts';
import { formatShape, type NdArray, type Tensor } from '../tensor.ts';
import { broadcastOrThrow, defineOp, expectRank, expectSameDtype, operand, wrap, type Operand, type Gradients } from '../op.ts';
import { sumTo } from './shape.ts';
import type { Tape } from '../tape.ts';
import { RowSparseTensor } from '../rowsparse.ts';

/** A B for 2-D tensors; `tape.transpose(a)` (an O(1) view) gives the transposed products. */
export const matmul = defineOp('matmul', (a: Tensor, b: Tensor) => {
  expectRank('matmul', 'the left operand', a, 2);
  expectRank('matmul', 'the right operand', b, 2);
  expectSameDtype('matmul', a, b);
  if (a.shape[1] !== b.shape[0]) {
    throw new Error(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: ${a.shape[1]} != ${b.shape[0]}`);
  }
  // With a sparse a, the rows of the product where a's row is all zero are left to be zeroed when
  // read (rowsparse.ts): in dB = Aᵀ G of a batch of MNIST images, the pixels no image has.
  const { array, rows } = k.matmulRowSparse(a.array, b.array);
  return {
    out: rows ? new RowSparseTensor(array, rows) : wrap(array),
    // saves a and b: dA = G B^T, dB = A^T G (transposes are views)
    backward(g, needs, t): Gradients {
      return [needs[0] ? t.matmul(g, t.transpose(b)) : null, needs[1] ? t.matmul(t.transpose(a), g) : null];
    },
  };
}, 'dA = G·Bᵀ, dB = Aᵀ·G');

/** The transpose (axes reversed): an O(1) view forward, and a view of g backward. */
export const transpose = defineOp('transpose', (x: Tensor) => {
  const axes = x.shape.map((_, i) => x.rank - 1 - i);
  return { out: wrap(x.array.transpose(...axes)), saves: [], backward(g, _needs, t): Gradients { return [t.transpose(g)]; } };
}, 'dx = gᵀ');

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
function elementwise(name: string, f: (x: number, y: number) => number, local: Local, rule: string, kernel?: (a: NdArray, b: NdArray, shape: number[]) => NdArray, readsValues = true) {
  return defineOp(name, (a: Operand, b: Operand) => {
    const x = operand(a, b), y = operand(b, a);
    expectSameDtype(name, x, y);
    const shape = broadcastOrThrow(name, x, y);
    return {
      out: wrap(kernel ? kernel(x.array, y.array, shape) : k.zip(viewAs(x, shape), viewAs(y, shape), shape, f)),
      saves: readsValues ? [x, y] : [],
      backward(g, needs, t): Gradients {
        return [needs[0] ? sumTo(t, local(g, x, y, t, shape, 0), x.shape) : null, needs[1] ? sumTo(t, local(g, x, y, t, shape, 1), y.shape) : null];
      },
    };
  }, rule);
}

export const add = elementwise('add', (x, y) => x + y, (g) => g, 'da = g, db = g (summed over broadcast axes)', k.add, false);
export const sub = elementwise('sub', (x, y) => x - y, (g, _x, _y, t, _s, i) => (i === 0 ? g : t.neg(g)), 'da = g, db = -g', undefined, false);
export const mul = elementwise('mul', (x, y) => x * y, (g, x, y, t, _s, i) => t.mul(g, i === 0 ? y : x), 'da = g·b, db = g·a');
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
