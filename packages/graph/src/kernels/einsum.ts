/** Batched matrix products and Einstein summation over arrays of any strides. */
import ndarray from 'ndarray';
import { allocate, dtypeOf, Scope, type DType } from './memory.ts';
import { broadcastView, sizeOf, unravel, type NdArray, type Shape } from './arrays.ts';
import { matmul } from './matmul.ts';

/**
 * C = A B over the leading axes `batch` (A [..., m, k] and B [..., k, n] broadcast to them, as
 * numpy's matmul): each [m, k] by [k, n] product by the 2-D kernel, so each has its bits.
 */
export function matmulBatched(a: NdArray, b: NdArray, batch: Shape): NdArray {
  const [m, k] = a.shape.slice(-2),
    n = b.shape[b.shape.length - 1];
  const A = broadcastView(a, [...batch, m, k]),
    B = broadcastView(b, [...batch, k, n]);
  const count = sizeOf(batch),
    out = allocate(dtypeOf(a.data), count * m * n);
  const scope = new Scope(); // each product's own array is copied into `out`, then freed
  try {
    for (let i = 0; i < count; i++) {
      const at = unravel(i, batch);
      out.set(matmul(A.pick(...at, null, null), B.pick(...at, null, null)).data, i * m * n);
    }
  } finally {
    scope.dispose();
  }
  return ndarray(out, [...batch, m, n]);
}

/**
 * Σ over the letters not in `output` of Π_o arrays[o][its letters]: `terms[o]` gives the letter (a
 * number < sizes.length) of each axis of arrays[o] (a letter repeated within one term walks its
 * diagonal), `output` the letters of the result's axes (each once), `sizes` each letter's length.
 * One loop over every letter, in float64, then stored in `dtype`: the reference, for small contractions.
 */
export function einsum(
  arrays: readonly NdArray[],
  terms: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  dtype: DType,
): NdArray {
  const summed = sizes.map((_, l) => l).filter((l) => !output.includes(l));
  const order = [...output, ...summed],
    dims = order.map((l) => sizes[l]),
    lead = output.length;
  const datas = arrays.map((a) => a.data),
    n = arrays.length;
  // steps[o][d]: how far operand o's offset moves when letter order[d] advances (repeats add up: a diagonal)
  const steps = arrays.map((a, o) => order.map((l) => terms[o].reduce((s, t, axis) => s + (t === l ? a.stride[axis] : 0), 0)));
  const offsets = arrays.map((a) => a.offset),
    at = new Array<number>(order.length).fill(0);
  const outShape = output.map((l) => sizes[l]),
    size = sizeOf(outShape),
    inner = sizeOf(summed.map((l) => sizes[l]));
  const out = allocate(dtype, size);
  // advances the odometer's digits [from, to), the last fastest; returns to zero after a full turn
  const advance = (from: number, to: number) => {
    for (let d = to - 1; d >= from; d--) {
      for (let o = 0; o < n; o++) offsets[o] += steps[o][d];
      if (++at[d] < dims[d]) return;
      for (let o = 0; o < n; o++) offsets[o] -= steps[o][d] * dims[d];
      at[d] = 0;
    }
  };
  for (let p = 0; p < size; p++) {
    let acc = 0;
    for (let q = 0; q < inner; q++) {
      let product = 1;
      for (let o = 0; o < n; o++) product *= datas[o][offsets[o]];
      acc += product;
      advance(lead, order.length);
    }
    out[p] = acc;
    advance(0, lead);
  }
  return ndarray(out, outShape);
}

/** 1 where the axes that share a letter (`firstAxis[d]`: the first axis with axis d's letter) hold equal indices, 0 elsewhere. */
export function diagonalMask(shape: Shape, firstAxis: readonly number[], dtype: DType): NdArray {
  const out = allocate(dtype, sizeOf(shape));
  for (let p = 0; p < out.length; p++) {
    const at = unravel(p, shape);
    out[p] = at.every((i, d) => i === at[firstAxis[d]]) ? 1 : 0;
  }
  return ndarray(out, [...shape]);
}
