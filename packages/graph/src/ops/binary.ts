/** Binary ops: the matrix product and elementwise arithmetic with broadcasting. */
import * as k from '../kernels/index.ts';
import { formatShape, type NdArray, type Tensor } from '../tensor.ts';
import { broadcastOrThrow, defineOp, expectRank, expectSameDtype, operand, wrap, type Operand } from '../op.ts';

/** A B for 2-D tensors; `tape.transpose(a)` (an O(1) view) gives the transposed products. */
export const matmul = defineOp('matmul', (a: Tensor, b: Tensor) => {
  expectRank('matmul', 'the left operand', a, 2);
  expectRank('matmul', 'the right operand', b, 2);
  expectSameDtype('matmul', a, b);
  if (a.shape[1] !== b.shape[0]) {
    throw new Error(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: ${a.shape[1]} != ${b.shape[0]}`);
  }
  return {
    out: wrap(k.matmul(a.array, b.array)),
    // saves a and b: dA = G B^T, dB = A^T G (transposes are views)
    backward: (g, needs) => [
      needs[0] ? wrap(k.matmul(g.array, b.array.transpose(1, 0))) : null,
      needs[1] ? wrap(k.matmul(a.array.transpose(1, 0), g.array)) : null,
    ],
  };
}, 'dA = G·Bᵀ, dB = Aᵀ·G');

/** The transpose (axes reversed): an O(1) view forward, and a view of g backward. */
export const transpose = defineOp('transpose', (x: Tensor) => {
  const axes = x.shape.map((_, i) => x.rank - 1 - i);
  return { out: wrap(x.array.transpose(...axes)), backward: (g) => [wrap(g.array.transpose(...axes))] };
}, 'dx = gᵀ');

type Local = ((g: number, x: number, y: number) => number) | null;

/** `t` broadcast to `shape` (a view, no copy). */
const view = (t: Tensor, shape: number[]) => (k.sameShape(shape, t.shape) ? t.array : k.broadcastView(t.array, shape));

/** d(g, x, y) over the broadcast shape; for a null d, g itself (no pass over the data). */
const local = (d: Local, g: Tensor, x: Tensor, y: Tensor, shape: number[]) => (d ? k.zip3(g.array, view(x, shape), view(y, shape), d) : g.array);

/**
 * An elementwise binary op with numpy broadcasting. `da`/`db` give dl/da and dl/db from g, a and
 * b (null: g itself, with no pass over the data); each is then summed back to its input's shape
 * (a row-vector bias gets the column sums). `kernel`, when given, computes the op over the arrays
 * (faster than zipping `f`, which stays the reference).
 */
function elementwise(name: string, f: (x: number, y: number) => number, da: Local, db: Local, rule: string, kernel?: (a: NdArray, b: NdArray, shape: number[]) => NdArray) {
  return defineOp(name, (a: Operand, b: Operand) => {
    const x = operand(a, b), y = operand(b, a);
    expectSameDtype(name, x, y);
    const shape = broadcastOrThrow(name, x, y);
    return {
      out: wrap(kernel ? kernel(x.array, y.array, shape) : k.zip(view(x, shape), view(y, shape), shape, f)),
      // saves x and y (read through broadcast views, no copies)
      backward: (g, needs) => [
        needs[0] ? wrap(k.sumToShape(local(da, g, x, y, shape), x.shape)) : null,
        needs[1] ? wrap(k.sumToShape(local(db, g, x, y, shape), y.shape)) : null,
      ],
    };
  }, rule);
}

export const add = elementwise('add', (x, y) => x + y, null, null, 'da = g, db = g (summed over broadcast axes)', k.add);
export const sub = elementwise('sub', (x, y) => x - y, null, (g) => -g, 'da = g, db = -g');
export const mul = elementwise('mul', (x, y) => x * y, (g, _x, y) => g * y, (g, x) => g * x, 'da = g·b, db = g·a');
export const div = elementwise('div', (x, y) => x / y, (g, _x, y) => g / y, (g, x, y) => (-g * x) / (y * y), 'da = g/b, db = -g·a/b²');
/** Elementwise max(a, b); the gradient goes to a where a >= b (a tie is a kink). */
export const maximum = elementwise('maximum', (x, y) => (x >= y ? x : y), (g, x, y) => (x >= y ? g : 0), (g, x, y) => (x >= y ? 0 : g), 'da = g where a >= b, db = g elsewhere');
/** Elementwise min(a, b); the gradient goes to a where a <= b. */
export const minimum = elementwise('minimum', (x, y) => (x <= y ? x : y), (g, x, y) => (x <= y ? g : 0), (g, x, y) => (x <= y ? 0 : g), 'da = g where a <= b, db = g elsewhere');
