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
  /** While the product itself is not computed yet (`product`): copies of its factors; then null. */
  #factors: { a: NdArray; b: NdArray } | null = null;

  /** `array`: a row-major [m, n] matrix whose rows outside `rows` (ascending) hold whatever its memory held. */
  constructor(array: NdArray, rows: Int32Array) {
    super(array);
    this.#rows = rows;
  }

  /**
   * The product A B of `kernels.deferredProduct`, not computed yet: `C` (unwritten) is its storage, `a`
   * and `b` copies of the factors that only this tensor holds. It is computed into C on the first
   * read, with the bits of the product computed at once; `addScaledRows` adds it to a weight
   * without computing it into C (the SGD step fused with Xᵀ G), after which it is still computed on a read.
   */
  static product(C: NdArray, a: NdArray, b: NdArray): RowSparseTensor {
    const t = new RowSparseTensor(C, new Int32Array(0));
    t.#factors = { a, b };
    return t;
  }

  /** The dense values: the product computed (if it was not) and the unwritten rows zeroed, on the first read. */
  override get array(): NdArray {
    const a = super.array;
    this.#compute(a);
    if (this.#rows) {
      k.zeroOtherRows(a.data, this.#rows, a.shape[1]);
      this.#rows = null;
    }
    return a;
  }

  /** The rows that may be non-zero and the storage to read them from, while the others are unwritten; null once it was read densely. */
  sparseRows(): { rows: Int32Array; data: Data; cols: number } | null {
    const a = super.array; // throws once released
    this.#compute(a);
    return this.#rows && { rows: this.#rows, data: a.data, cols: a.shape[1] };
  }

  /** @internal (`addScaledRows`): w += alpha A B from the factors, while the product is not computed; false (nothing done) otherwise. */
  addScaledProductTo(w: Tensor, alpha: number): boolean {
    void super.array; // throws once released
    const f = this.#factors;
    if (!f || !k.sameShape(w.shape, this.shape) || !k.isContiguous(w.array)) return false;
    let done = false;
    w.update((a) => void (done = k.addScaledProduct(a.data, f.a, f.b, alpha)));
    return done;
  }

  /** Computes a pending product into C's rows. */
  #compute(C: NdArray): void {
    if (!this.#factors) return;
    this.#rows = k.productRowsInto(C, this.#factors.a, this.#factors.b);
    this.#factors = null;
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
  if (g instanceof RowSparseTensor && g.addScaledProductTo(w, alpha)) return true;
  const sparse = g instanceof RowSparseTensor ? g.sparseRows() : null;
  if (!sparse || !k.sameShape(w.shape, g.shape) || !k.isContiguous(w.array)) return false;
  let done = false;
  w.update((a) => void (done = k.addScaledRows(a.data, sparse.data, sparse.rows, sparse.cols, alpha)));
  return done;
}
