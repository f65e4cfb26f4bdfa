/**
 * The environment of the reference processes (NumPy with OpenBLAS, PyTorch with OpenBLAS and oneDNN),
 * and `--reference-isa avx2`: the references limited to AVX2 on a processor that has AVX-512.
 *
 * Our kernels are WebAssembly with 128-bit SIMD: V8 compiles them to SSE/AVX instructions and never
 * to AVX-512, so on a processor without AVX-512 only the references lose speed. Where no such
 * processor is at hand, limiting the references to the kernels they pick there (OpenBLAS's Haswell
 * kernels, oneDNN's AVX2 ones, ATen's AVX2 loops) measures the same ratios for the instruction sets,
 * though not for the microarchitecture (caches, clock, how many FMA units): a stand-in, not a measurement
 * of such a processor, and the bench says which it ran.
 */

/** The instruction sets the references may use: all the processor has, or AVX2 at most. */
export type ReferenceIsa = 'native' | 'avx2';

/** The variables that limit each library to AVX2 (each library reads its own; they are checked below). */
const avx2: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell', ONEDNN_MAX_CPU_ISA: 'AVX2', DNNL_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2' };

let isa: ReferenceIsa = 'native';

/** Reads `--reference-isa native|avx2` from `argv` (default native); throws on any other value. */
export function parseReferenceIsa(argv: string[]): ReferenceIsa {
  const at = argv.indexOf('--reference-isa');
  if (at < 0) return (isa = 'native');
  const value = argv[at + 1];
  if (value !== 'native' && value !== 'avx2') throw new Error(`--reference-isa ${value ?? '(missing)'}: expected native or avx2`);
  return (isa = value);
}

// every bench script that runs a reference (run.ts, evaluation.ts, lenet.ts, threads.ts) takes the flag
parseReferenceIsa(process.argv);

/** The ISA the references run with in this process. */
export function referenceIsa(): ReferenceIsa {
  return isa;
}

/**
 * The environment for a reference process on `threads` threads: this process's, without anything that
 * would pick the references' kernels for them unless `--reference-isa avx2` asked for it, plus `extra`.
 */
export function referenceEnv(threads: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), ...extra };
  for (const key of [...Object.keys(avx2), 'OPENBLAS_L2_SIZE']) delete env[key];
  return isa === 'avx2' ? { ...env, ...avx2 } : env;
}

/**
 * Throws unless OpenBLAS reported the kernels `--reference-isa` asks for (`core`: what
 * `openblas_get_corename()` said in the reference process): a stand-in that silently ran AVX-512
 * would be a wrong number.
 */
export function checkReferenceCore(core: string | undefined): void {
  if (isa === 'avx2' && core !== 'Haswell')
    throw new Error(
      `--reference-isa avx2: OpenBLAS ran its ${core ?? 'unknown'} kernels, not Haswell's (needs Debian's DYNAMIC_ARCH OpenBLAS: libopenblas0-pthread)`,
    );
}
