/**
 * The WebAssembly kernels (128-bit SIMD, from packages/graph/assembly/*.ts, compiled by AssemblyScript
 * in the install step and embedded: builds.ts), for float32. They run on the memory float32 tensors
 * are allocated in (memory.ts), so operands are read in place; an operand from elsewhere (a user's
 * Float32Array, a layout the kernels do not read) is copied into a temporary block first. When the
 * engine cannot run them, or BACKPROP_KERNELS=js, `wasm` is null and the TypeScript kernels do the
 * work; they stay the reference in tests.
 *
 * The module is built twice from one source: kernels-fma.wasm, whose products use relaxed SIMD's
 * fused multiply-add (one rounding instead of two, and 7-8% faster training here), and kernels.wasm
 * without it. The fused one runs where the engine validates it (builds.ts); with BACKPROP_KERNELS=simd
 * the plain one. A fused multiply-add is whatever the processor offers, so float32 bits may differ
 * between machines, never between runs, nor between Node and a browser on one machine.
 */
import { contiguous, type NdArray } from './arrays.ts';
import { binary, chosenBuild } from './builds.ts';
import { allocateF32, defaultMemory, inMemory, type Memory } from './memory.ts';
import type { ConvGeometry } from './conv.ts';
import type { PoolGeometry } from './pool.ts';
import type { AdamHyper, AdamSlot } from './optim.ts';
import { MAX_THREADS, partWork, poolSize, setPoolSize, splitRows, Team, threadsAllowed } from './threads.ts';

export interface WasmKernels {
  /** The worker threads that share this module's calls (threads.ts), or null where threads are not allowed. */
  readonly team: Team | null;
  /**
   * C = A B for float32 A [m,k] and B [k,n] of any strides: a fresh row-major C in the kernels'
   * memory. `sparse`: A has few non-zeros, so C's rows are combinations of B's rows over A's
   * non-zeros, and A's zeros are skipped exactly (unless B is a transposed view, which the
   * dot-product kernel reads in place). Null when the memory is full.
   */
  matmul(a: NdArray, b: NdArray, sparse: boolean): Float32Array | null;
  /**
   * G Bᵀ, [m, n], for B [n, k] (contiguous, at `b`) and a G whose m rows are read across samples:
   * G[i] is, for each of k / P samples in turn, the P values at `g` + i P + s S (a convolution's
   * upstream gradient [N, F, P] as it is stored: the weights' gradient without copying it into the
   * product's layout). The bits of `matmul` on the copied rows and Bᵀ. Null where P is not a
   * multiple of 4, k not a multiple of P, or the memory is full.
   */
  matmulBTSamples(g: Float32Array, b: Float32Array, m: number, k: number, n: number, P: number, S: number): Float32Array | null;
  /**
   * C = A B as the sparse `matmul` computes it, but with the rows of C where A's row has no non-zero
   * left unwritten (they are zero; whatever the memory held is still there) and listed: `rows`, the
   * rows that were written, ascending. Null where that kernel does not apply (B a transposed view)
   * or the memory is full.
   */
  matmulRows(a: NdArray, b: NdArray, into?: Float32Array): { C: Float32Array; rows: Int32Array } | null;
  /**
   * w += alpha (A B) for float32 A [m,k] with k <= 64 and non-negative strides and a row-major B [k,n],
   * n a multiple of 32, w a row-major [m,n] in the kernels' memory, without writing A B anywhere: the
   * bits of `matmulRows(a, b)` followed by `addScaledRows` on its rows. A and B may be anywhere (they
   * are copied into the scratch block). False (nothing done) otherwise.
   */
  addScaledProduct(w: Float32Array, a: NdArray, b: NdArray, alpha: number): boolean;
  /**
   * tanh(A B + bias) for a sparse A (as `matmul(a, b, true)` takes it), a B that is not a transposed
   * view, n a multiple of 4 and a float32 bias [n]: the bits of that product, then `addRow`, then
   * `tanh`, in one kernel (each block of sums finished in registers). Null where it does not apply
   * or the memory is full.
   */
  matmulAddTanh(a: NdArray, b: NdArray, bias: NdArray): Float32Array | null;
  /** tanh of a float32 array in the kernels' memory (SIMD, within 8 ulps), or null for one elsewhere. */
  tanh(x: Float32Array): Float32Array | null;
  /** A [m,n] + b [n] for row-major float32 arrays in the kernels' memory, or null. */
  addRow(a: NdArray, b: NdArray): Float32Array | null;
  /** The column sums of a row-major float32 [m,n] in the kernels' memory, or null. */
  sumRows(a: NdArray): Float32Array | null;
  /** g (1 - y²) for float32 arrays of one length in the kernels' memory, or null. */
  tanhGrad(g: Float32Array, y: Float32Array): Float32Array | null;
  /** x > 0 ? x : 0 of a float32 array in the kernels' memory, or null for one elsewhere. */
  relu(x: Float32Array): Float32Array | null;
  /** g · (x > 0 ? 1 : 0) for float32 arrays of one length in the kernels' memory, or null. */
  reluGrad(g: Float32Array, x: Float32Array): Float32Array | null;
  /** The number of non-zeros of a float32 array in the kernels' memory, or null for one elsewhere. */
  countNonzero(x: Float32Array): number | null;
  /** w += alpha g in place for float32 arrays of one length in the kernels' memory; false (and nothing done) otherwise. */
  addScaled(w: Float32Array, g: Float32Array, alpha: number): boolean;
  /**
   * `addScaled` on rows `rows` of row-major w and g with n columns, n a multiple of 16: the same bits
   * as over the whole arrays when g's other rows are zero (they are not read). False (nothing done) otherwise.
   */
  addScaledRows(w: Float32Array, g: Float32Array, rows: Int32Array, n: number, alpha: number): boolean;
  /**
   * im2col of samples [n0, n1) of x into `cols` (every entry written, the padding's zeros too), or
   * with `add` its adjoint col2im, cols added onto x, for channels [c0, c1): float32 arrays in the
   * kernels' memory (kernels/conv.ts); false (and nothing done) for arrays elsewhere.
   */
  patches(x: Float32Array, cols: Float32Array, g: ConvGeometry, c0: number, c1: number, n0: number, n1: number, add: boolean): boolean;
  /**
   * The direct convolution of samples [n0, n1) of x [N, C, H, W] with w [F, C, KH, KW] (+ bias) into
   * out [N, F, OH, OW], for stride 1, dilation 1, one group (kernels/conv.ts): the bits of the
   * product over im2col's matrix. False (nothing done) for another geometry or arrays elsewhere.
   */
  convDirect(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, g: ConvGeometry, n0: number, n1: number): boolean;
  /** The max of each window of x into out, and the indices of the first maxima (kernels/pool.ts), or null for arrays elsewhere. */
  maxPool(x: Float32Array, out: Float32Array, g: PoolGeometry): Int32Array | null;
  /**
   * zeros of out's length with v[o] added at index[o] for each o, for float32 arrays in the kernels'
   * memory: the number of indices outside out, which are skipped; null (nothing done) otherwise.
   */
  scatterAdd(v: Float32Array, index: Int32Array, out: Float32Array): number | null;
  /** The mean of each window of x into out, or with `backward` out spread back onto x (kernels/pool.ts); false for arrays elsewhere. */
  avgPool(x: Float32Array, out: Float32Array, g: PoolGeometry, includePad: boolean, backward: boolean): boolean;
  /** Adam on every slot in one call (kernels/optim.ts), the bits of `adamStep`; false (nothing done) unless all are float32 in the kernels' memory. */
  adamSteps(slots: readonly AdamSlot[], h: AdamHyper): boolean;
}

type Ptr = number;
interface Exports {
  matmul(a: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number): void;
  matmulBT(a: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number): void;
  matmulBTCols(a: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number, j0: number, j1: number): void;
  matmulBTColsSamples(a: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number, j0: number, j1: number, P: number, S: number): void;
  matmulAT(s: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number): void;
  matmulATRows(s: Ptr, b: Ptr, c: Ptr, m: number, k: number, n: number, i0: number, i1: number): void;
  combineRows(a: Ptr, as0: number, as1: number, b: Ptr, c: Ptr, m: number, k: number, n: number, group: number, scratch: Ptr): void;
  combineRowsWritten(a: Ptr, as0: number, as1: number, b: Ptr, c: Ptr, m: number, k: number, n: number, group: number, scratch: Ptr, written: Ptr): number;
  combineRowsTanh(a: Ptr, as0: number, as1: number, b: Ptr, c: Ptr, m: number, k: number, n: number, group: number, scratch: Ptr, bias: Ptr): void;
  combinePairsWritten(
    a: Ptr,
    as0: number,
    as1: number,
    b: Ptr,
    c: Ptr,
    m: number,
    k: number,
    n: number,
    group: number,
    scratch: Ptr,
    written: Ptr,
    smallB: number,
  ): number;
  pairsSmallestB(b: Ptr, count: number): number;
  addScaled(w: Ptr, g: Ptr, n: number, alpha: number): void;
  addScaledRows(w: Ptr, g: Ptr, rows: Ptr, count: number, n: number, alpha: number): void;
  combineRowsUpdate(a: Ptr, as0: number, as1: number, b: Ptr, w: Ptr, m: number, k: number, n: number, scratch: Ptr, alpha: number): void;
  tanh(x: Ptr, y: Ptr, n: number): void;
  addRow(a: Ptr, b: Ptr, c: Ptr, m: number, n: number): void;
  sumRows(a: Ptr, c: Ptr, m: number, n: number): void;
  tanhGrad(g: Ptr, y: Ptr, c: Ptr, n: number): void;
  relu(x: Ptr, y: Ptr, n: number): void;
  reluGrad(g: Ptr, x: Ptr, c: Ptr, n: number): void;
  countNonzero(x: Ptr, n: number): number;
  patches(x: Ptr, cols: Ptr, ...geometry: number[]): void;
  convDirect(x: Ptr, w: Ptr, bias: Ptr, out: Ptr, xp: Ptr, ...geometry: number[]): void;
  maxPool(x: Ptr, out: Ptr, at: Ptr, ...geometry: number[]): void;
  avgPool(x: Ptr, out: Ptr, ...geometry: number[]): void;
  adamSteps(table: Ptr, count: number, lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, decay: number): void;
  scatterAdd(v: Ptr, at: Ptr, out: Ptr, count: number, size: number): number;
}

/** The kernels of one compiled module (its bytes, or the module) on the tensors' memory, or null without the memory. */
export function loadKernels(module: BufferSource | WebAssembly.Module, memory: Memory = defaultMemory()): WasmKernels | null {
  if (!memory.wasm) return null;
  const compiled = module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module);
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      memory: memory.wasm,
      abort: () => {
        throw new Error('wasm kernel aborted');
      },
    },
  });
  const x = instance.exports as unknown as Exports;
  const team = threadsAllowed(memory.wasm) ? new Team(compiled, memory.wasm, instance.exports) : null;
  /**
   * `fn` over rows [0, m) of a product of `work` multiply-adds: in one call, or, where it pays, in
   * parts of whole row blocks (`block` rows) on the team's threads; `args(start, end, part)` gives
   * a part's arguments. The bits are the same either way (threads.ts). Returns each part's result.
   */
  function byRows(fn: keyof Exports, m: number, work: number, block: number, args: (start: number, end: number, part: number) => number[]): number[] {
    const ranges = splitRows(m, team ? Math.min(team.size, Math.floor(work / partWork())) : 1, block);
    if (ranges.length <= 1) return [(x[fn] as (...a: number[]) => number)(...args(0, m, 0))];
    return team!.run(
      fn,
      ranges.map(([s, e], p) => args(s, e, p)),
    );
  }
  /**
   * C = A B by combineRows for a sparse A and a B that is not a transposed view: every row of C
   * written (`skipEmpty` false), or only the rows where A has a non-zero, which it returns (null: the memory is full);
   * with `bias` (a pointer to n float32s, `skipEmpty` false), C = tanh(A B + bias) by combineRowsTanh.
   */
  function combine(a: NdArray, b: NdArray, C: Float32Array, skipEmpty: boolean, bias?: number): Int32Array | null {
    // A read in place with its strides (a transposed Xᵀ or Hᵀ too); B's rows contiguous.
    // Rows in groups of up to 32 when k is long: each block of the rows of B the group picks comes
    // from memory once a group, while the group's lists stay in cache (one group of all 1,000 rows
    // of an evaluation batch was 1.2x slower; of 128 rows, 1.05x; bench/evaluation.ts).
    // Rows in parts on the kernel threads where it pays (about a fifth of A non-zero: an MNIST batch), each with its own scratch.
    const [m, k] = a.shape,
      n = b.shape[1];
    const A = inMemory(a.data) ? a : copy(a),
      B = rowMajor(b);
    if (!A || !B) return null;
    const [s0, s1] = A.stride;
    // Rows in pairs (combinePairsWritten) where the rows are short (64 < k <= 128: Xᵀ G at batch 128,
    // whose neighbouring rows, pixels, are non-zero in mostly the same images: 0.7-0.8x the CPU time
    // of one row at a time) and B is finite (smallB > 0), so that a pair's extra terms 0 · b change
    // no bit (the kernel checks the rest: assembly/pairs.ts).
    const smallB = pairRows && skipEmpty && k > 64 && k <= 128 && n % 16 === 0 ? x.pairsSmallestB(pointer(B), k * n) : 0,
      pairs = smallB > 0;
    const parts: { at: number; lists: number; start: number }[] = [];
    const args = (start: number, end: number, part: number) => {
      const rows = end - start,
        group = k > 64 ? Math.min(rows, 32) : 1;
      // the scratch block: the compacted rows (or pairs) of the group, then (skipEmpty) the list of rows written
      const lists = pairs ? 16 * (16 * k + 13) : 4 * (group * (1 + 2 * k) + 4);
      const at = partScratch(memory, part, lists + (skipEmpty ? 4 * rows : 0));
      if (at === null) throw FULL;
      parts[part] = { at, lists, start };
      const common = [pointer(A) + 4 * start * s0, s0, s1, pointer(B), C.byteOffset + 4 * start * n, rows, k, n, pairs ? 32 : group, at];
      return pairs ? [...common, at + lists, smallB] : skipEmpty ? [...common, at + lists] : bias !== undefined ? [...common, bias] : common;
    };
    try {
      // parts of whole groups of 32 rows for pairs (so that every pair stays whole)
      const kernel = pairs ? 'combinePairsWritten' : skipEmpty ? 'combineRowsWritten' : bias !== undefined ? 'combineRowsTanh' : 'combineRows';
      if (pairs) pairProducts++;
      const counts = byRows(kernel, m, (m * k * n) / 5, pairs ? 32 : 1, args);
      if (!skipEmpty) return new Int32Array(0);
      const written = new Int32Array(counts.reduce((s, c) => s + c, 0));
      let w = 0;
      counts.forEach((count, p) => {
        const { at, lists, start } = parts[p];
        for (const r of new Int32Array(memory.wasm!.buffer, at + lists, count)) written[w++] = start + r;
      });
      return written;
    } catch (e) {
      if (e === FULL) return null;
      throw e;
    }
  }

  return {
    team,
    matmul(a, b, sparse) {
      // C and any copy of an operand belong to the enclosing tidy scope, like every other array.
      const [m, k] = a.shape,
        n = b.shape[1];
      const C = allocateF32(m * n, false);
      if (!inMemory(C)) return null;
      if (sparse && !isTransposed(b)) {
        if (!combine(a, b, C, false)) return null;
      } else if (isTransposed(a) && inMemory(a.data)) {
        // A = Sᵀ read as S is stored (Hᵀ in a gradient Hᵀ G).
        const B = rowMajor(b);
        if (!B) return null;
        byRows('matmulATRows', m, m * k * n, 4, (s, e) => [pointer(a), pointer(B), C.byteOffset, m, k, n, s, e]);
      } else if (isTransposed(b)) {
        // B = Wᵀ read as W is stored, by a kernel of dot products.
        const A = rowMajor(a),
          W = rowMajor(b.transpose(1, 0));
        if (!A || !W) return null;
        // Few rows and more columns (a convolution's weights' gradient: a row per filter, a column
        // per tap, k the batch's output positions) split by pairs of columns; else by row blocks.
        if (m < 32 && n > m) byRows('matmulBTCols', n, m * k * n, 2, (s, e) => [pointer(A), pointer(W), C.byteOffset, m, k, n, s, e]);
        else byRows('matmulBT', m, m * k * n, 4, (s, e) => [pointer(A) + 4 * s * k, pointer(W), C.byteOffset + 4 * s * n, e - s, k, n]);
      } else {
        const A = rowMajor(a),
          B = rowMajor(b);
        if (!A || !B) return null;
        byRows('matmul', m, m * k * n, 4, (s, e) => [pointer(A) + 4 * s * k, pointer(B), C.byteOffset + 4 * s * n, e - s, k, n]);
      }
      return C;
    },
    matmulBTSamples(g, b, m, k, n, P, S) {
      if (P % 4 !== 0 || k % P !== 0 || !inMemory(g) || !inMemory(b)) return null;
      // the kernel reads row i of sample s at i P + s S: every row within a sample, every sample within g
      if (m * P > S || g.length < (m - 1) * P + (k / P - 1) * S + P || b.length < n * k) return null;
      const C = allocateF32(m * n, false);
      if (!inMemory(C)) return null;
      // by pairs of columns on the kernel threads where it pays, as matmulBTCols
      byRows('matmulBTColsSamples', n, m * k * n, 2, (s, e) => [g.byteOffset, b.byteOffset, C.byteOffset, m, k, n, s, e, P, S]);
      return C;
    },
    matmulAddTanh(a, b, bias) {
      const [m, n] = [a.shape[0], b.shape[1]];
      if (isTransposed(b) || n % 4 !== 0 || bias.shape.length !== 1 || bias.shape[0] !== n || !isRowMajor(bias)) return null;
      const C = allocateF32(m * n, false);
      return inMemory(C) && combine(a, b, C, false, pointer(bias)) ? C : null;
    },
    matmulRows(a, b, into) {
      if (isTransposed(b)) return null;
      const [m, n] = [a.shape[0], b.shape[1]],
        C = into?.length === m * n ? into : allocateF32(m * n, false);
      const written = inMemory(C) ? combine(a, b, C, true) : null;
      return written === null ? null : { C, rows: written };
    },
    addScaledProduct(w, a, b, alpha) {
      const [m, k] = a.shape,
        n = b.shape[1],
        [as0, as1] = a.stride;
      if (!inMemory(w) || w.length !== m * n || m * k === 0 || k > 64 || n % 32 !== 0 || as0 < 0 || as1 < 0) return false;
      if (!(a.data instanceof Float32Array) || !(b.data instanceof Float32Array) || b.stride[0] !== n || b.stride[1] !== 1) return false;
      // A's span (read with its strides), B and the list of a row's non-zeros, in the scratch block
      const span = 1 + (m - 1) * as0 + (k - 1) * as1,
        aBytes = (4 * span + 15) & ~15,
        bBytes = 4 * k * n,
        scratch = memory.scratch(aBytes + bBytes + 8 * k + 16);
      if (scratch === null) return false;
      const heap = memory.wasm!.buffer;
      new Float32Array(heap, scratch, span).set(a.data.subarray(a.offset, a.offset + span));
      new Float32Array(heap, scratch + aBytes, k * n).set(b.data.subarray(b.offset, b.offset + k * n));
      x.combineRowsUpdate(scratch, as0, as1, scratch + aBytes, w.byteOffset, m, k, n, scratch + aBytes + bBytes, alpha);
      return true;
    },
    tanh(v) {
      const y = inMemory(v) ? allocateF32(v.length, false) : null;
      if (!y || !inMemory(y)) return null;
      // elementwise: parts of whole blocks of 16 (the kernels' SIMD blocks), about 32 operations a value
      byRows('tanh', v.length, 32 * v.length, 16, (s, e) => [v.byteOffset + 4 * s, y.byteOffset + 4 * s, e - s]);
      return y;
    },
    addRow(a, b) {
      const [m, n] = a.shape,
        c = isRowMajor(a) && isRowMajor(b) ? allocateF32(m * n, false) : null;
      if (!c || !inMemory(c)) return null;
      x.addRow(pointer(a), pointer(b), c.byteOffset, m, n);
      return c;
    },
    sumRows(a) {
      const [m, n] = a.shape,
        c = isRowMajor(a) ? allocateF32(n, false) : null;
      if (!c || !inMemory(c)) return null;
      x.sumRows(pointer(a), c.byteOffset, m, n);
      return c;
    },
    tanhGrad(g, y) {
      const c = inMemory(g) && inMemory(y) && g.length === y.length ? allocateF32(g.length, false) : null;
      if (!c || !inMemory(c)) return null;
      byRows('tanhGrad', g.length, 4 * g.length, 16, (s, e) => [g.byteOffset + 4 * s, y.byteOffset + 4 * s, c.byteOffset + 4 * s, e - s]);
      return c;
    },
    relu(v) {
      const y = inMemory(v) ? allocateF32(v.length, false) : null;
      if (!y || !inMemory(y)) return null;
      // elementwise: parts of whole blocks of 16 on the kernel threads where it pays, counted 5
      // multiply-adds a value: bound by memory, a split does not halve it (ReLU's gradient of LeNet's
      // first layer, 301,056 values, took 0.13 ms a step split in two against 0.11 in one call, a
      // core free), so only from about 420,000 values
      byRows('relu', v.length, 5 * v.length, 16, (s, e) => [v.byteOffset + 4 * s, y.byteOffset + 4 * s, e - s]);
      return y;
    },
    reluGrad(g, v) {
      const c = inMemory(g) && inMemory(v) && g.length === v.length ? allocateF32(g.length, false) : null;
      if (!c || !inMemory(c)) return null;
      // as relu
      byRows('reluGrad', g.length, 5 * g.length, 16, (s, e) => [g.byteOffset + 4 * s, v.byteOffset + 4 * s, c.byteOffset + 4 * s, e - s]);
      return c;
    },
    countNonzero(v) {
      return inMemory(v) ? x.countNonzero(v.byteOffset, v.length) : null;
    },
    addScaled(w, g, alpha) {
      if (!inMemory(w) || !inMemory(g) || w.length !== g.length) return false;
      byRows('addScaled', w.length, 4 * w.length, 16, (s, e) => [w.byteOffset + 4 * s, g.byteOffset + 4 * s, e - s, alpha]);
      return true;
    },
    addScaledRows(w, g, rows, n, alpha) {
      const fits = rows.length === 0 || (rows[0] >= 0 && (rows[rows.length - 1] + 1) * n <= w.length);
      const scratch = fits && n % 16 === 0 && inMemory(w) && inMemory(g) && w.length === g.length ? memory.scratch(4 * rows.length) : null;
      if (scratch === null) return false;
      new Int32Array(memory.wasm!.buffer, scratch, rows.length).set(rows);
      // a value read twice and written once from memory: 0.3 ns, about 6 multiply-adds' time (W1's
      // update at batch 128, 650 rows of 800, took 160 us of CPU here: split in two on two threads)
      byRows('addScaledRows', rows.length, 6 * rows.length * n, 1, (s, e) => [w.byteOffset, g.byteOffset, scratch + 4 * s, e - s, n, alpha]);
      return true;
    },
    patches(v, cols, g, c0, c1, n0, n1, add) {
      if (!inMemory(v) || !inMemory(cols)) return false;
      // by samples on the kernel threads where it pays (each writes its own columns of cols, or
      // adds onto its own samples of x: the same bits as one call); a value moved costs about 10
      // multiply-adds (130 us for LeNet's chunks of 2^18 values, against 50 us for 2^20: threads.ts)
      const P = g.oh * g.ow,
        width = (n1 - n0) * P,
        geometry = [g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, c0, c1];
      byRows('patches', n1 - n0, 10 * (c1 - c0) * g.kh * g.kw * width, 1, (s, e) => [
        v.byteOffset,
        cols.byteOffset + 4 * s * P,
        ...geometry,
        n0 + s,
        n0 + e,
        add ? 1 : 0,
        width,
      ]);
      return true;
    },
    convDirect(v, w, bias, out, g, n0, n1) {
      if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.groups !== 1 || !inMemory(v) || !inMemory(w) || !inMemory(out)) return false;
      if (bias && !inMemory(bias)) return false;
      // the weights with their rows padded to a multiple of 4 (zeros); each part (samples, on the
      // kernel threads where it pays: samples are independent, so the bits are those of one call)
      // with its own padded planes of one sample
      const K = g.c * g.kh * g.kw,
        rows = Math.ceil(g.f / 4) * 4,
        planeValues = g.c * (g.h + 2 * g.ph) * (g.w + 2 * g.pw) + 8;
      const weights = allocateF32(rows * K);
      if (!inMemory(weights)) return false;
      weights.set(w.subarray(0, g.f * K));
      const geometry = [g.c, g.h, g.w, g.f, g.kh, g.kw, g.ph, g.pw, g.oh, g.ow];
      try {
        byRows('convDirect', n1 - n0, (n1 - n0) * g.f * K * g.oh * g.ow, 1, (s, e) => {
          const planes = allocateF32(planeValues, false);
          if (!inMemory(planes)) throw FULL;
          return [v.byteOffset, weights.byteOffset, bias ? bias.byteOffset : 0, out.byteOffset, planes.byteOffset, ...geometry, n0 + s, n0 + e, bias ? 1 : 0];
        });
      } catch (e) {
        if (e === FULL) return false;
        throw e;
      }
      return true;
    },
    maxPool(v, out, g) {
      // The indices go through the scratch block into the JavaScript heap: a backward may read them
      // after the scope of the forward pass, and must not find another tensor's values there.
      const scratch = inMemory(v) && inMemory(out) ? memory.scratch(4 * out.length) : null;
      if (scratch === null) return null;
      // by planes on the kernel threads where it pays (planes are independent: the bits of one
      // call); a part's indices count from its first plane, so the later parts' are shifted after;
      // a window's tap costs about 12 multiply-adds (LeNet's 2x2 windows: 2.5 ns an output)
      const [planes, size, P] = [g.n * g.c, g.h * g.w, g.oh * g.ow],
        geometry = [g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow],
        starts: number[] = [];
      byRows('maxPool', planes, 12 * planes * P * g.kh * g.kw, 1, (s, e) => {
        starts.push(s);
        return [v.byteOffset + 4 * s * size, out.byteOffset + 4 * s * P, scratch + 4 * s * P, e - s, ...geometry];
      });
      const index = new Int32Array(memory.wasm!.buffer, scratch, out.length).slice();
      starts.forEach((s, p) => {
        const end = p + 1 < starts.length ? starts[p + 1] : planes,
          shift = s * size;
        if (shift !== 0) for (let o = s * P; o < end * P; o++) index[o] += shift; // the first part's count from plane 0 already
      });
      return index;
    },
    scatterAdd(v, index, out) {
      const scratch = inMemory(v) && inMemory(out) && v.length === index.length ? memory.scratch(4 * index.length) : null;
      if (scratch === null) return null;
      new Int32Array(memory.wasm!.buffer, scratch, index.length).set(index);
      return x.scatterAdd(v.byteOffset, scratch, out.byteOffset, index.length, out.length);
    },
    avgPool(v, out, g, includePad, backward) {
      if (!inMemory(v) || !inMemory(out)) return false;
      // by planes on the kernel threads where it pays (each reads and writes its own planes)
      const [planes, size, P] = [g.n * g.c, g.h * g.w, g.oh * g.ow],
        geometry = [g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow, includePad ? 1 : 0, backward ? 1 : 0];
      byRows('avgPool', planes, 12 * planes * P * g.kh * g.kw, 1, (s, e) => [v.byteOffset + 4 * s * size, out.byteOffset + 4 * s * P, e - s, ...geometry]);
      return true;
    },
    adamSteps(slots, h) {
      const fits = slots.every(({ w, g, m, v }) => [w, g, m, v].every((a) => a instanceof Float32Array && inMemory(a) && a.length === w.length));
      // a part's table lists pieces of its range of the values of all the tensors in turn: at most
      // one piece more than there are tensors for all parts together
      const table = fits ? memory.scratch(20 * (slots.length + MAX_THREADS)) : null;
      if (table === null) return false;
      const rows = new Int32Array(memory.wasm!.buffer, table, 5 * (slots.length + MAX_THREADS)),
        total = slots.reduce((sum, { w }) => sum + w.length, 0);
      let row = 0;
      // by values on the kernel threads where it pays: each value's formula is the same, in its
      // float64 lanes or alone (assembly/optim.ts), so the bits do not depend on where a part is
      // cut; about 100 multiply-adds' time a value (LeNet's 61,706 values: 0.25-0.35 ms of CPU)
      byRows('adamSteps', total, 100 * total, 2, (s, e) => {
        const first = row;
        let at = 0;
        for (const { w, g, m, v } of slots) {
          const i0 = Math.max(s, at) - at,
            i1 = Math.min(e, at + w.length) - at;
          if (i1 > i0) rows.set([w.byteOffset + 4 * i0, g.byteOffset + 4 * i0, m.byteOffset + 4 * i0, v.byteOffset + 4 * i0, i1 - i0], 5 * row++);
          at += w.length;
        }
        return [table + 20 * first, row - first, h.lr, h.b1, h.b2, h.c1, h.c2, h.eps, h.decay];
      });
      return true;
    },
  };
}

let pairRows = true,
  pairProducts = 0;

/** @internal For tests: whether the sparse product may take rows in pairs (combinePairsWritten); returns the old setting. */
export function setPairRows(on: boolean): boolean {
  const old = pairRows;
  pairRows = on;
  return old;
}

/** @internal For tests: how many sparse products took their rows in pairs so far. */
export function pairProductCount(): number {
  return pairProducts;
}

const FULL = new Error("the kernels' memory is full");
const scratches = new WeakMap<Memory, Float32Array[]>();

/** A scratch block of `bytes` for part `part` of a split kernel call (part 0: the memory's own), or null when the memory is full. */
function partScratch(memory: Memory, part: number, bytes: number): number | null {
  if (part === 0) return memory.scratch(bytes);
  const blocks = scratches.get(memory) ?? [];
  scratches.set(memory, blocks);
  if (!blocks[part] || blocks[part].byteLength < bytes) {
    const block = memory.allocate('float32', Math.ceil(bytes / 4), 'owned', false) as Float32Array;
    if (!memory.holds(block)) return null;
    blocks[part] = block;
  }
  return blocks[part].byteOffset;
}

/** A transposed view of a row-major matrix: columns contiguous. */
const isTransposed = (x: NdArray) => x.stride[0] === 1 && x.stride[1] === x.shape[0] && x.shape[0] > 1;

const pointer = (x: NdArray): Ptr => x.data.byteOffset + 4 * x.offset;

/** A row-major float32 array (1-D or 2-D) in the kernels' memory. */
function isRowMajor(x: NdArray): boolean {
  if (!inMemory(x.data)) return false;
  if (x.shape.length === 1) return x.stride[0] === 1 || x.shape[0] === 1;
  const [rows, cols] = x.shape;
  return x.shape.length === 2 && (x.stride[1] === 1 || cols === 1) && (x.stride[0] === cols || rows === 1);
}

/** `x` itself when it is row-major in the kernels' memory, else a row-major copy there (null if full). */
function rowMajor(x: NdArray): NdArray | null {
  return isRowMajor(x) ? x : copy(x);
}

/** A row-major copy of a float32 matrix in the kernels' memory, freed with the enclosing `tidy` scope (null if full). */
function copy(x: NdArray): NdArray | null {
  const out = contiguous(x, 'float32');
  return inMemory(out.data) ? out : null;
}

/** The build `chosenBuild` names, on the default memory: loaded on the first kernel call, not on import. */
function choose(): { kernels: WasmKernels | null; fused: boolean } {
  poolSize(); // BACKPROP_THREADS and BACKPROP_PART_WORK are read here, whatever the build: a malformed value is an error even where no thread runs
  const build = chosenBuild();
  const kernels = build && defaultMemory().wasm ? loadKernels(binary(build)) : null;
  return { kernels, fused: kernels !== null && build === 'fused' };
}

let chosen: { kernels: WasmKernels | null; fused: boolean } | null = null;

/** The loaded kernels (loading them on first use), or null: the TypeScript kernels then do the work. */
export function wasmKernels(): WasmKernels | null {
  return (chosen ??= choose()).kernels;
}

/**
 * The one choice between the WebAssembly and the TypeScript kernels, for every kernel with a SIMD
 * version: the WebAssembly kernels when they are loaded and both operands are float32, else null.
 * The caller runs its TypeScript kernel then, and also when the WebAssembly one gives null or false
 * (an operand layout it does not read, an array outside the kernels' memory, no room left there):
 * `float32Kernels(x, y)?.kernel(...) ?? typescript(...)`.
 */
export function float32Kernels(a: ArrayBufferView, b: ArrayBufferView = a): WasmKernels | null {
  const w = (chosen ??= choose()).kernels;
  return w !== null && a instanceof Float32Array && b instanceof Float32Array ? w : null;
}

/**
 * Sets how many threads the WebAssembly kernels use in this process (or page, or worker): 1, the
 * default, runs everything on the calling thread; with more, the large products are split by rows
 * among worker threads on the shared memory, with the same bits for every count. Resolves when the
 * workers are ready. Where threads are not allowed (no WebAssembly kernels or shared memory, a page
 * that is not cross-origin isolated) the kernels stay on one thread: `runningThreads()` says how many run.
 */
export function setThreads(threads: number): Promise<void> {
  setPoolSize(threads).catch(() => undefined); // checks the count, and resizes the teams already made
  chosen ??= choose(); // the default kernels (and their team) made now
  return setPoolSize(threads);
}

/** The threads set by `setThreads` (1 by default): the most the kernels use. */
export function getThreads(): number {
  return poolSize();
}

/** The threads the WebAssembly kernels use now: `getThreads()`, but 1 until workers are ready, and where threads are not allowed. */
export function runningThreads(): number {
  return Math.min(poolSize(), (chosen ??= choose()).kernels?.team?.size ?? 1);
}

/** Which kernels run float32: for the benchmark's header and the tests. */
export function kernelsName(): string {
  const { kernels, fused } = (chosen ??= choose());
  return !kernels ? 'TypeScript' : fused ? 'WebAssembly SIMD with fused multiply-add' : 'WebAssembly SIMD';
}
