/**
 * Convolution by im2col and the matrix product. The input patches of a chunk of the batch are laid
 * out as the columns of a matrix [C·KH·KW, n·OH·OW] (im2col), so that the convolution is one
 * product W [F, C·KH·KW] · cols per group and runs in `matmul`'s kernels (WebAssembly SIMD for
 * float32). The input's gradient is the product Wᵀ · G scattered back onto the input (col2im), the
 * weights' gradient G · colsᵀ. Chunks bound the memory im2col takes (about 16 MB of float32).
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf, Scope, type Data, type DType } from './memory.ts';
import { flat, type NdArray } from './arrays.ts';
import { matmul } from './matmul.ts';

/** The sizes of a 2-D convolution: input [n, c, h, w], weights [f, c / groups, kh, kw], output [n, f, oh, ow]. */
export interface ConvGeometry {
  n: number; c: number; h: number; w: number;
  f: number; kh: number; kw: number; groups: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  oh: number; ow: number;
}

/** Output length along one axis: floor((size + 2 pad - dilation (kernel - 1) - 1) / stride) + 1 (PyTorch's). */
export const convOutputSize = (size: number, kernel: number, stride: number, pad: number, dilation: number): number =>
  Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;

/** Columns of im2col allowed in one chunk (values, not bytes): the batch is cut into chunks under it. */
const CHUNK_VALUES = 1 << 22;

/** Samples per chunk (the kernels' last argument, which tests set lower): at least one, and as many as keep [C·KH·KW, n·OH·OW] under CHUNK_VALUES. */
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
 * Copies the patches of samples [n0, n1) into `cols`, zeroed, [C·KH·KW rows, (n1 - n0)·OH·OW]:
 * row (c, i, j) holds x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw] at column (n, oy, ox), 0 in the padding.
 */
function im2col(X: Data, g: ConvGeometry, n0: number, n1: number, cols: Data): void {
  walkPatches(g, 0, g.c, n0, n1, (src, dst, x0, x1, sw) => {
    for (let ox = x0, at = src + x0 * sw; ox < x1; ox++, at += sw) cols[dst + ox] = X[at];
  });
}

/** The adjoint of im2col for channels [c0, c1), whose rows start at row 0 of `cols`: adds each entry back where it was read from. */
function col2imAdd(cols: Data, g: ConvGeometry, c0: number, c1: number, n0: number, n1: number, dx: Data): void {
  walkPatches(g, c0, c1, n0, n1, (src, dst, x0, x1, sw) => {
    for (let ox = x0, at = src + x0 * sw; ox < x1; ox++, at += sw) dx[at] += cols[dst + ox];
  });
}

/**
 * The loops im2col and col2im share: for channel c in [c0, c1), tap (i, j), sample n and output row
 * oy whose input row is inside the image, `row(src, dst, x0, x1, sw)` with src the input index of
 * ox = 0 (which may lie in the padding: only ox in [x0, x1) is read) and dst the column index of ox = 0.
 */
function walkPatches(g: ConvGeometry, c0: number, c1: number, n0: number, n1: number, row: (src: number, dst: number, x0: number, x1: number, sw: number) => void): void {
  const { c: C, h: H, w: Wd, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = g, P = oh * ow, width = (n1 - n0) * P;
  for (let c = c0; c < c1; c++) {
    for (let i = 0; i < kh; i++) {
      const [y0, y1] = validRange(oh, sh, ph, i * dh, H);
      for (let j = 0; j < kw; j++) {
        const [x0, x1] = validRange(ow, sw, pw, j * dw, Wd);
        const base = (((c - c0) * kh + i) * kw + j) * width, shift = i * dh - ph, left = j * dw - pw;
        for (let n = n0; n < n1; n++) {
          const plane = (n * C + c) * H * Wd, at = base + (n - n0) * P;
          for (let oy = y0; oy < y1; oy++) row(plane + (oy * sh + shift) * Wd + left, at + oy * ow, x0, x1, sw);
        }
      }
    }
  }
}

/** The patches of samples [n0, n1) as a [C·KH·KW, (n1 - n0)·OH·OW] matrix. */
function patches(X: Data, g: ConvGeometry, n0: number, n1: number, dtype: DType): NdArray {
  const rows = g.c * g.kh * g.kw, width = (n1 - n0) * g.oh * g.ow;
  const cols = allocate(dtype, rows * width);
  im2col(X, g, n0, n1, cols);
  return ndarray(cols, [rows, width]);
}

/** The upstream gradient of samples [n0, n1), [N, F, OH·OW], as an [F, (n1 - n0)·OH·OW] matrix (the layout of the product). */
function gradientColumns(G: Data, g: ConvGeometry, n0: number, n1: number, dtype: DType): NdArray {
  const P = g.oh * g.ow, width = (n1 - n0) * P, out = allocate(dtype, g.f * width);
  for (let f = 0; f < g.f; f++) {
    for (let n = n0; n < n1; n++) out.set(G.subarray((n * g.f + f) * P, (n * g.f + f + 1) * P), f * width + (n - n0) * P);
  }
  return ndarray(out, [g.f, width]);
}

/**
 * Group `group`'s weights [F/G, Cg·KH·KW] copied with `rows` rows and `cols` columns, zeros in the
 * rest: the SIMD products take rows of their left operand four at a time and leave the remainder to
 * scalar loops, so a layer of 6 filters runs as 8 (the extra rows of the product are not read).
 */
function paddedWeights(W: Data, g: ConvGeometry, group: number, rows: number, cols: number): NdArray {
  const fg = g.f / g.groups, kg = (g.c / g.groups) * g.kh * g.kw, out = allocate(dtypeOf(W), rows * cols);
  for (let f = 0; f < fg; f++) out.set(W.subarray((group * fg + f) * kg, (group * fg + f + 1) * kg), f * cols);
  return ndarray(out, [rows, cols]);
}

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

/** y = x ⋆ w (+ bias per filter): [N, F, OH, OW] from x [N, C, H, W] and w [F, C/G, KH, KW]. */
export function conv2d(x: NdArray, w: NdArray, g: ConvGeometry, bias?: NdArray, step = chunkOf(g)): NdArray {
  const dtype = dtypeOf(x.data), P = g.oh * g.ow;
  const out = allocate(dtype, g.n * g.f * P);
  const fg = g.f / g.groups, kg = (g.c / g.groups) * g.kh * g.kw;
  scoped(() => {
    const X = flat(x), B = bias ? flat(bias) : null;
    const weights = Array.from({ length: g.groups }, (_, q) => paddedWeights(flat(w), g, q, roundUp4(fg, dtype), kg));
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step), width = (n1 - n0) * P;
      scoped(() => {
        const cols = patches(X, g, n0, n1, dtype);
        for (let q = 0; q < g.groups; q++) {
          const Y = flat(matmul(weights[q], cols.lo(q * kg, 0).hi(kg, width)));
          // [F/G, n·P] rows of the product into [n, F, P], with the bias
          for (let f = 0; f < fg; f++) {
            const filter = q * fg + f, b = B ? B[filter] : 0;
            for (let n = n0; n < n1; n++) {
              const dst = (n * g.f + filter) * P, src = f * width + (n - n0) * P;
              for (let p = 0; p < P; p++) out[dst + p] = Y[src + p] + b;
            }
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
  const fg = g.f / g.groups, cg = g.c / g.groups, kg = cg * g.kh * g.kw, rows = roundUp4(kg, dtype);
  scoped(() => {
    const G = flat(gy);
    // Wᵀ as a transposed view of a [F/G, rows] copy: the kernels read it in place
    const weights = Array.from({ length: g.groups }, (_, q) => paddedWeights(flat(w), g, q, fg, rows).transpose(1, 0));
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step);
      scoped(() => {
        const gcols = gradientColumns(G, g, n0, n1, dtype), width = gcols.shape[1];
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
  const fg = g.f / g.groups, kg = (g.c / g.groups) * g.kh * g.kw;
  const dw = allocate(dtype, g.f * kg);
  scoped(() => {
    const X = flat(x), G = flat(gy);
    for (let n0 = 0; n0 < g.n; n0 += step) {
      const n1 = Math.min(g.n, n0 + step);
      scoped(() => {
        const cols = patches(X, g, n0, n1, dtype), gcols = gradientColumns(G, g, n0, n1, dtype), width = cols.shape[1];
        for (let q = 0; q < g.groups; q++) {
          // G_q · cols_qᵀ: the transposed view goes to the kernel of dot products along n·P
          const D = flat(matmul(gcols.lo(q * fg, 0).hi(fg, width), cols.lo(q * kg, 0).hi(kg, width).transpose(1, 0)));
          const at = q * fg * kg;
          for (let i = 0; i < fg * kg; i++) dw[at + i] += D[i];
        }
      });
    }
  });
  return ndarray(dw, [g.f, g.c / g.groups, g.kh, g.kw]);
}
