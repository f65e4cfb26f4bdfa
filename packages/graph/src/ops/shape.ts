/** Shape ops: reshaping, and broadcasting with its adjoint (summing back), which backward passes are written with. */
import * as k from '../kernels/index.ts';
import { formatShape, type Shape, type Tensor } from '../tensor.ts';
import { defineOp, wrap, type Gradients } from '../op.ts';
import type { Tape } from '../tape.ts';

/** The same values in another shape of the same size (a view when the input is contiguous). */
export const reshape = defineOp('reshape', (x: Tensor, shape: Shape) => {
  if (k.sizeOf(shape) !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} values) to ${formatShape(shape)} (${k.sizeOf(shape)})`);
  }
  return { out: wrap(k.reshape(x.array, shape)), backward: (g, _needs, t): Gradients => [t.reshape(g, x.shape), null] };
}, 'dx = g reshaped back');

/** x repeated along new leading axes and axes of length 1 (numpy's broadcast_to): a view, no copy. */
export const broadcastTo = defineOp('broadcastTo', (x: Tensor, shape: Shape) => {
  if (!k.broadcastShape(x.shape, shape) || !k.sameShape(k.broadcastShape(x.shape, shape)!, shape)) {
    throw new Error(`broadcastTo: cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  return { out: wrap(k.broadcastView(x.array, shape)), backward: (g, _needs, t): Gradients => [sumTo(t, g, x.shape), null] };
}, 'dx = g summed over the broadcast axes');

/** x summed down to `shape` (over leading axes and axes where `shape` has 1): the adjoint of broadcasting. */
export const sumToShape = defineOp('sumToShape', (x: Tensor, shape: Shape) => {
  return { out: wrap(k.sumToShape(x.array, shape)), backward: (g, _needs, t): Gradients => [t.broadcastTo(g, x.shape), null] };
}, 'dx = g broadcast back');

/** `g` summed down to `shape` on the tape, or `g` itself when it has that shape already. */
export const sumTo = (t: Tape, g: Tensor, shape: Shape): Tensor => (k.sameShape(g.shape, shape) ? g : t.sumToShape(g, shape));
