/**
 * A matrix whose rows outside a list are zero but not yet written: the product A B of a sparse A
 * (kernels.matmulRowSparse), such as the first layer's weight gradient Xᵀ G at batch 8, whose
 * rows are zero wherever no image of the batch has that pixel (about half of MNIST's 784). Reading
 * it densely (`.array`, and everything built on it) first writes those zeros, once, so every reader
 * gets exactly the dense product; plain SGD reads it before that (`addScaledRows`) and touches only
 * the listed rows of the gradient and of the weights.
 */
import * as k from './kernels/index.ts';
import { Tensor, type Data, type NdArray } from './tensor.ts';

export class RowSparseTensor extends Tensor {
  /** The rows that may be non-zero, while the others are still unwritten; null once they are written. */
  #rows: Int32Array | null;

  /** `array`: a row-major [m, n] matrix whose rows outside `rows` (ascending) hold whatever its memory held. */
  constructor(array: NdArray, rows: Int32Array) {
    super(array);
    this.#rows = rows;
  }

  /** The dense values: the unwritten rows are zeroed on the first read. */
  override get array(): NdArray {
    const a = super.array;
    if (this.#rows) {
      k.zeroOtherRows(a.data, this.#rows, a.shape[1]);
      this.#rows = null;
    }
    return a;
  }

  /** The rows that may be non-zero and the storage to read them from, while the others are unwritten; null once it was read densely. */
  sparseRows(): { rows: Int32Array; data: Data; cols: number } | null {
    const a = super.array; // throws once released
    return this.#rows && { rows: this.#rows, data: a.data, cols: a.shape[1] };
  }
}

/**
 * w += alpha g for a parameter w and its gradient g (plain SGD with alpha = -lr). For a row-sparse g
 * not yet read densely, only its rows are read and only those rows of w are written, with the bits
 * `kernels.addScaled` gives over the whole arrays; returns false (nothing done) where it cannot be
 * done that way (a dense g; a row length the update's blocks straddle), and the caller runs
 * `kernels.addScaled` on `g.array`. A write bumps w's version (Tensor.update).
 */
export function addScaledRows(w: Tensor, g: Tensor, alpha: number): boolean {
  const sparse = g instanceof RowSparseTensor ? g.sparseRows() : null;
  if (!sparse || !k.sameShape(w.shape, g.shape) || !k.isContiguous(w.array)) return false;
  let done = false;
  w.update((a) => void (done = k.addScaledRows(a.data, sparse.data, sparse.rows, sparse.cols, alpha)));
  return done;
}
