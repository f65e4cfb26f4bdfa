/**
 * Convolution by im2col and the matrix product. The input patches of a chunk of the batch are laid
 * out as the columns of a matrix [C·KH·KW, n·OH·OW] (im2col), so that the convolution is one
 * product W [F, C·KH·KW] · cols per group and runs in `matmul`'s kernels (WebAssembly SIMD for
 * float32). The input's gradient is the product Wᵀ · G scattered back onto the input (col2im), the
 * weights' gradient G · colsᵀ. Chunks bound the memory im2col takes (about 1 MB of float32 a chunk).
 */
import ndarray from 'ndarray';
import { allocate, allocateF32, dtypeOf, Scope, type Data, type DType } from './memory.ts';
import { flat, type NdArray } from './arrays.ts';
import { matmul } from './matmul.ts';
import { float32Kernels } from './wasm.ts';

/** The sizes of a 2-D convolution: input [n, c, h, w], weights [f, c / groups, kh, kw], output [n, f, oh, ow]. */
export interface ConvGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  f: number;
  kh: number;
  kw: number;
  groups: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  oh: number;
  ow: number;
}

/** Output length along one axis: floor((size + 2 pad - dilation (kernel - 1) - 1) / stride) + 1 (PyTorch's). */
export const convOutputSize = (size: number, kernel: number, stride: number, pad: number, dilation: number): number =>
  Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;

/** Values of im2col's matrix in one chunk: 1 MB of float32 bounds the memory (on LeNet's layers, chunks of 128 KB to 16 MB ran equally fast). */
const CHUNK_VALUES = 1 << 18;

/** Samples per chunk (the kernels' last argument, which tests set lower): at least one, as many as keep im2col's matrix under CHUNK_VALUES. */
function chunkOf(g: ConvGeometry): number {
  return Math.max(1, Math.floor(CHUNK_VALUES / (g.c * g.kh * g.kw * g.oh * g.ow)));
}

/** The first and one-past-last output index o with 0 <= o·stride - pad + offset < size (the rest read padding). */
function validRange(out: number, stride: number, pad: number, offset: number, size: number): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - offset) / stride));
  const hi = Math.min(out, Math.floor((size - 1 + pad - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Writes the patches of channels [c0, c1) of samples [n0, n1) into `cols` from index `at` on,
 * [(c1 - c0)·KH·KW rows, (n1 - n0)·OH·OW]: row (c, i, j) holds x[n, c, oy·sh - ph + i·dh,
 * ox·sw - pw + j·dw] at column (n, oy, ox), 0 in the padding. `cols` need not be zeroed.
 */
function im2col(X: Data, g: ConvGeometry, c0: number, c1: number, n0: number, n1: number, cols: Data, at: number): void {
  if (float32Kernels(X, cols)?.patches(X as Float32Array, cols.subarray(at) as Float32Array, g, c0, c1, n0, n1, false)) return;
  cols.fill(0, at, at + (c1 - c0) * g.kh * g.kw * (n1 - n0) * g.oh * g.ow);
  walkPatches(g, c0, c1, n0, n1, (src, dst, x0, x1, sw) => {
    for (let ox = x0, from = src + x0 * sw; ox < x1; ox++, from += sw) cols[at + dst + ox] = X[from];
  });
}

/** The adjoint of im2col for channels [c0, c1), whose rows start at row 0 of `cols`: adds each entry back where it was read from. */
function col2imAdd(cols: Data, g: ConvGeometry, c0: number, c1: number, n0: number, n1: number, dx: Data): void {
  if (float32Kernels(cols, dx)?.patches(dx as Float32Array, cols as Float32Array, g, c0, c1, n0, n1, true)) return;
  walkPatches(g, c0, c1, n0, n1, (src, dst, x0, x1, sw) => {
    for (let ox = x0, at = src + x0 * sw; ox < x1; ox++, at += sw) dx[at] += cols[dst + ox];
  });
}

/**
 * The loops im2col and col2im share: for channel c in [c0, c1), tap (i, j), sample n and output row
 * oy whose input row is inside the image, `row(src, dst, x0, x1, sw)` with src the input index of
 * ox = 0 (which may lie in the padding: only ox in [x0, x1) is read) and dst the column index of ox = 0.
 */
function walkPatches(
  g: ConvGeometry,
  c0: number,
  c1: number,
  n0: number,
  n1: number,
  row: (src: number, dst: number, x0: number, x1: number, sw: number) => void,
): void {
  const { c: C, h: H, w: Wd, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = g,
    P = oh * ow,
    width = (n1 - n0) * P;
  for (let c = c0; c < c1; c++) {
    for (let i = 0; i < kh; i++) {
      const [y0, y1] = validRange(oh, sh, ph, i * dh, H);
      for (let j = 0; j < kw; j++) {
        const [x0, x1] = validRange(ow, sw, pw, j * dw, Wd);
        const base = (((c - c0) * kh + i) * kw + j) * width,
          shift = i * dh - ph,
          left = j * dw - pw;
        for (let n = n0; n < n1; n++) {
          const plane = (n * C + c) * H * Wd,
            at = base + (n - n0) * P;
          for (let oy = y0; oy < y1; oy++) row(plane + (oy * sh + shift) * Wd + left, at + oy * ow, x0, x1, sw);
        }
      }
    }
  }
}

/**
 * The patches of samples [n0, n1) as a matrix of (n1 - n0)·OH·OW columns: for each group its
 * Cg·KH·KW rows, then, with `ones`, a row of ones (which multiplies the bias in the product).
 */
function patches(X: Data, g: ConvGeometry, n0: number, n1: number, dtype: DType, ones: boolean): NdArray {
  const cg = g.c / g.groups,
    rows = cg * g.kh * g.kw + (ones ? 1 : 0),
    width = (n1 - n0) * g.oh * g.ow;
  const cols = uninitialised(dtype, g.groups * rows * width);
  for (let q = 0; q < g.groups; q++) {
    im2col(X, g, q * cg, (q + 1) * cg, n0, n1, cols, q * rows * width);
    if (ones) cols.fill(1, (q + 1) * rows * width - width, (q + 1) * rows * width);
  }
  return ndarray(cols, [g.groups * rows, width]);
}

/**
 * The upstream gradient of samples [n0, n1), [N, F, OH·OW], as a matrix of (n1 - n0)·OH·OW columns
 * (the layout of the product): for each group, its F/G filters' rows, then zero rows up to `rows`.
 */
function gradientColumns(G: Data, g: ConvGeometry, n0: number, n1: number, dtype: DType, rows: number): NdArray {
  const P = g.oh * g.ow,
    width = (n1 - n0) * P,
    fg = g.f / g.groups,
    out = uninitialised(dtype, g.groups * rows * width);
  for (let q = 0; q < g.groups; q++) out.fill(0, (q * rows + fg) * width, (q + 1) * rows * width);
  // in one buffer (the kernels' memory), each plane is copied within it: no view object per plane
  // (a LeNet step copies 2,400 planes of 100 or 784 values here; 0.5-0.8x the time of subarray and set)
  const heap = G instanceof Float32Array && out instanceof Float32Array && G.buffer === out.buffer ? new Float32Array(out.buffer) : null,
    [g0, o0] = heap ? [G.byteOffset / 4, out.byteOffset / 4] : [0, 0];
  for (let f = 0; f < g.f; f++) {
    const row = Math.floor(f / fg) * rows + (f % fg);
    for (let n = n0; n < n1; n++) {
      const from = (n * g.f + f) * P,
        to = row * width + (n - n0) * P;
      if (heap) heap.copyWithin(o0 + to, g0 + from, g0 + from + P);
      else out.set(G.subarray(from, from + P), to);
    }
  }
  return ndarray(out, [g.groups * rows, width]);
}

/**
 * Group `group`'s weights [F/G, Cg·KH·KW] copied with `rows` rows and `cols` columns, zeros in the
 * rest, and the bias, if given, in the column after the weights: the SIMD products take rows of
 * their left operand four at a time and leave the remainder to scalar loops, so a layer of 6
 * filters runs as 8 (the extra rows of the product are not read).
 */
function paddedWeights(W: Data, g: ConvGeometry, group: number, rows: number, cols: number, B: Data | null = null): NdArray {
  const fg = g.f / g.groups,
    kg = (g.c / g.groups) * g.kh * g.kw,
    out = allocate(dtypeOf(W), rows * cols);
  for (let f = 0; f < fg; f++) {
    out.set(W.subarray((group * fg + f) * kg, (group * fg + f + 1) * kg), f * cols);
    if (B) out[f * cols + kg] = B[group * fg + f];
  }
  return ndarray(out, [rows, cols]);
}

/** `size` values to be overwritten: float32 blocks are handed out without zeroing them first. */
const uninitialised = (dtype: DType, size: number): Data => (dtype === 'float32' ? allocateF32(size, false) : allocate(dtype, size));

const roundUp4 = (v: number, dtype: DType) => (dtype === 'float32' ? Math.ceil(v / 4) * 4 : v);

/** Runs `body` in a scope of its own: the temporaries of one chunk are freed before the next. */
function scoped(body: () => void): void {
  const scope = new Scope();
  try {
    body();
  } finally {
    scope.dispose();
  }
}

/**
 * Whether the products of the im2col path, chunk by chunk, would all run in the WebAssembly SIMD
 * blocks (at least 4096 multiply-adds: matmul.ts; widths a multiple of 4: no scalar tail, which
 * rounds a product apart from its sum where the other lanes fuse them), whose bits the direct
 * kernel gives. Elsewhere (tiny layers) the im2col path stays, so a layer's bits never depend on which runs.
 */
function sameBitsAsProducts(g: ConvGeometry, bias: boolean, step: number): boolean {
  const P = g.oh * g.ow,
    last = g.n - Math.floor((g.n - 1) / step) * step,
    shared = roundUp4(g.f, 'float32') * (g.c * g.kh * g.kw + (bias ? 1 : 0));
  return g.n > 0 && [Math.min(step, g.n), last].every((n) => (n * P) % 4 === 0 && shared * n * P >= 4096);
}

/**
 * The direct convolution (WebAssembly, float32, stride 1, dilation 1, one group): the sums of the
 * product over im2col's matrix in its order, without that matrix or the copies of the product's
 * planes. False where it does not apply.
 */
function directConv(x: NdArray, w: NdArray, g: ConvGeometry, bias: NdArray | undefined, out: Data): boolean {
  const X = flat(x),
    kernels = float32Kernels(X, out);
  if (!kernels) return false;
  let done = false;
  scoped(() => {
    const W = flat(w),
      B = bias ? flat(bias) : null;
    done =
      W instanceof Float32Array &&
      (!B || B instanceof Float32Array) &&
      kernels.convDirect(X as Float32Array, W, B as Float32Array | null, out as Float32Array, g, 0, g.n);
  });
  return done;
}

/**
 * y = x ⋆ w (+ bias per filter): [N, F, OH, OW] from x [N, C, H, W] and w [F, C/G, KH, KW]. The
 * bias rides in the product, as a column of the weights times a row of ones in the patches.
 */
export function conv2d(x: NdArray, w: NdArray, g: ConvGeometry, bias?: NdArray, step = chunkOf(g), direct = true): NdArray {
  const dtype = dtypeOf(x.data),
    P = g.oh * g.ow;
  const out = uninitialised(dtype, g.n * g.f * P); // every plane is copied in
  if (direct && sameBitsAsProducts(g, bias !== undefined, step) && directConv(x, w, g, bias, out)) return ndarray(out, [g.n, g.f, g.oh, g.ow]);
  const fg = g.f / g.groups,
    rows = (g.c / g.groups) * g.kh * g.kw + (bias ? 1 : 0);
  scoped(() => {
    const X = flat(x),
      B = bias ? flat(bias) : null;
    const weights = Array.from({ length: g.groups }, (_, q) => paddedWeights(flat(w), g, q, roundUp4(fg, dtype), rows, B));
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step),
        width = (n1 - n0) * P;
      scoped(() => {
        const cols = patches(X, g, n0, n1, dtype, B !== null);
        for (let q = 0; q < g.groups; q++) {
          const Y = flat(matmul(weights[q], cols.lo(q * rows, 0).hi(rows, width)));
          // each [F/G, n·P] row of the product is n planes of the output
          for (let f = 0; f < fg; f++) {
            for (let n = n0; n < n1; n++) out.set(Y.subarray(f * width + (n - n0) * P, f * width + (n - n0 + 1) * P), (n * g.f + q * fg + f) * P);
          }
        }
      });
    }
  });
  return ndarray(out, [g.n, g.f, g.oh, g.ow]);
}

/**
 * dx for y = x ⋆ w and dl/dy = gy: the transposed convolution of gy [N, F, OH, OW] with w, of x's
 * shape [N, C, H, W] (input positions no window reads get 0).
 */
export function conv2dBackwardInput(gy: NdArray, w: NdArray, g: ConvGeometry, step = chunkOf(g)): NdArray {
  const dtype = dtypeOf(gy.data);
  const dx = allocate(dtype, g.n * g.c * g.h * g.w);
  const fg = g.f / g.groups,
    cg = g.c / g.groups,
    kg = cg * g.kh * g.kw,
    rows = roundUp4(kg, dtype);
  scoped(() => {
    const G = flat(gy);
    // Wᵀ as a transposed view of a [F/G, rows] copy: the kernels read it in place
    const weights = Array.from({ length: g.groups }, (_, q) => paddedWeights(flat(w), g, q, fg, rows).transpose(1, 0));
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step);
      scoped(() => {
        const gcols = gradientColumns(G, g, n0, n1, dtype, fg),
          width = gcols.shape[1];
        for (let q = 0; q < g.groups; q++) {
          const cols = flat(matmul(weights[q], gcols.lo(q * fg, 0).hi(fg, width))); // [rows, n·P]
          col2imAdd(cols, g, q * cg, (q + 1) * cg, n0, n1, dx);
        }
      });
    }
  });
  return ndarray(dx, [g.n, g.c, g.h, g.w]);
}

/** dw for y = x ⋆ w and dl/dy = gy: the correlation of x with gy, [F, C/G, KH, KW]. */
export function conv2dBackwardWeight(x: NdArray, gy: NdArray, g: ConvGeometry, step = chunkOf(g)): NdArray {
  const dtype = dtypeOf(x.data);
  const fg = g.f / g.groups,
    kg = (g.c / g.groups) * g.kh * g.kw,
    rows = roundUp4(fg, dtype),
    P = g.oh * g.ow;
  const dw = allocate(dtype, g.f * kg);
  scoped(() => {
    const X = flat(x),
      G = flat(gy);
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step);
      scoped(() => {
        const cols = patches(X, g, n0, n1, dtype, false),
          width = cols.shape[1],
          C = flat(cols);
        // the kernels read G where it is (no copy into the product's layout) where `matmul` would
        // have run them on the copy: the same sums in the same order (matmulBTSamples)
        const kernels = rows * width * kg >= 4096 ? float32Kernels(G, C) : null;
        let gcols: NdArray | null = null;
        for (let q = 0; q < g.groups; q++) {
          const samples = kernels?.matmulBTSamples(
            (G as Float32Array).subarray((n0 * g.f + q * fg) * P),
            (C as Float32Array).subarray(q * kg * width, (q + 1) * kg * width),
            fg,
            width,
            kg,
            P,
            g.f * P,
          );
          gcols ??= samples ? null : gradientColumns(G, g, n0, n1, dtype, rows);
          // G_q · cols_qᵀ (its first F/G rows): the transposed view goes to the kernel of dot products along n·P
          const D =
            samples ??
            flat(
              matmul(
                gcols!.lo(q * rows, 0).hi(rows, width),
                cols
                  .lo(q * kg, 0)
                  .hi(kg, width)
                  .transpose(1, 0),
              ),
            );
          const at = q * fg * kg;
          for (let i = 0; i < fg * kg; i++) dw[at + i] += D[i];
        }
      });
    }
  });
  return ndarray(dw, [g.f, g.c / g.groups, g.kh, g.kw]);
}
