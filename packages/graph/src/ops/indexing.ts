/** Indexing ops: rows taken by integer index (embeddings) and added back by it, and choosing by a mask. */
import * as k from '../kernels/index.ts';
import { formatShape, Tensor } from '../tensor.ts';
import { broadcastOrThrow, defineOp, expectSameDtype, operand, wrap, type Gradients, type Operand } from '../op.ts';
import { sumTo } from './shape.ts';

/** Checks that every index is a whole number in [0, rows). */
function indicesFor(op: string, index: ArrayLike<number>, rows: number, what: string): void {
  for (let i = 0; i < index.length; i++) {
    const r = index[i];
    if (!Number.isInteger(r) || r < 0 || r >= rows) {
      throw new Error(`${op}: index ${r} at position ${i} is not a row of ${what} (0 to ${rows - 1})`);
    }
  }
}

/** Rows of x [rows, ...rest] by integer index: out[i] = x[index[i]], of shape [index.length, ...rest] (an embedding lookup). */
export const gather = defineOp(
  'gather',
  (x: Tensor, index: ArrayLike<number>) => {
    if (x.rank === 0) throw new Error('gather: cannot take rows of a 0-D tensor []');
    indicesFor('gather', index, x.shape[0], formatShape(x.shape));
    return { out: wrap(k.takeRows(x.array, index)), backward: (g, _needs, t): Gradients => [t.scatterAdd(g, index, x.shape[0]), null] };
  },
  'dx = g added back at the rows it came from (scatterAdd)',
);

/** Zeros of shape [rows, ...rest] with each g[i] added at row index[i]; repeated indices add up. gather's backward (and gather is its). */
export const scatterAdd = defineOp(
  'scatterAdd',
  (g: Tensor, index: ArrayLike<number>, rows: number) => {
    if (g.rank === 0 || g.shape[0] !== index.length) {
      throw new Error(
        `scatterAdd: ${index.length} indices for the ${g.rank === 0 ? 'no' : g.shape[0]} rows of ${formatShape(g.shape)}; give one index per row`,
      );
    }
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`scatterAdd: the number of rows must be a whole number >= 0, got ${rows}`);
    indicesFor('scatterAdd', index, rows, `the ${rows} rows of the output`);
    return { out: wrap(k.scatterAddRows(g.array, index, rows)), backward: (h, _needs, t): Gradients => [t.gather(h, index), null, null] };
  },
  'dg = h gathered at the indices',
);

/**
 * a where mask is 1, b where it is 0, broadcast together (like add). The mask is a constant tensor
 * of 0s and 1s (it gets no gradient); a and b may be numbers.
 */
export const where = defineOp(
  'where',
  (mask: Tensor, a: Operand, b: Operand) => {
    if (!(mask instanceof Tensor)) throw new Error('where: the mask must be a tensor of 0s and 1s');
    if (mask.requiresGrad) throw new Error(`where: the mask ${formatShape(mask.shape)} requires a gradient, but it only chooses; pass mask.detach()`);
    const bad = k.firstNotBinary(mask.array);
    if (bad >= 0) throw new Error(`where: the mask must hold only 0 and 1, got ${k.flat(mask.array)[bad]} at ${formatShape(k.unravel(bad, mask.shape))}`);
    const x = operand(a, b instanceof Tensor ? b : mask),
      y = operand(b, x);
    expectSameDtype('where', x, y);
    const xy = broadcastOrThrow('where', x, y);
    const shape = k.broadcastShape(mask.shape, xy);
    if (!shape) throw new Error(`where: cannot broadcast the mask ${formatShape(mask.shape)} with the values' shape ${formatShape(xy)}`);
    return {
      out: wrap(k.where(mask.array, x.array, y.array, shape, x.dtype)),
      // saves the mask: da = g where it is 1, db = g where it is 0, each summed back to its input's shape
      backward: (g, needs, t): Gradients => {
        const m = wrap(k.contiguous(mask.array, g.dtype));
        return [null, needs[1] ? sumTo(t, t.mul(g, m), x.shape) : null, needs[2] ? sumTo(t, t.mul(g, wrap(k.map(m.array, (v) => 1 - v))), y.shape) : null];
      },
    };
  },
  'da = g·mask, db = g·(1 - mask)',
);
