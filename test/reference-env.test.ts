// The bench's reference environment: `--reference-isa avx2` must reach every reference process, and a
// reference that ran other kernels than asked must stop the bench rather than give a wrong ratio.
import { describe, expect, it } from 'vitest';
import { checkReferenceCore, parseReferenceIsa, referenceEnv } from '../bench/reference-env.ts';

describe('bench --reference-isa', () => {
  it('native: the variables that would pick kernels are removed, the threads set', () => {
    process.env.OPENBLAS_CORETYPE = 'Zen';
    try {
      expect(parseReferenceIsa(['node', 'bench/run.ts'])).toBe('native');
      const env = referenceEnv(2, { OMP_WAIT_POLICY: 'PASSIVE' });
      expect(env.OPENBLAS_CORETYPE).toBeUndefined();
      expect(env.ONEDNN_MAX_CPU_ISA).toBeUndefined();
      expect([env.OPENBLAS_NUM_THREADS, env.OMP_NUM_THREADS, env.OMP_WAIT_POLICY]).toEqual(['2', '2', 'PASSIVE']);
      expect(() => checkReferenceCore('SkylakeX')).not.toThrow();
    } finally {
      delete process.env.OPENBLAS_CORETYPE;
    }
  });

  it('avx2: every library is limited, and OpenBLAS must report Haswell kernels', () => {
    try {
      expect(parseReferenceIsa(['node', 'bench/run.ts', '--reference-isa', 'avx2', '--json', 'x.json'])).toBe('avx2');
      const env = referenceEnv(1);
      expect([env.OPENBLAS_CORETYPE, env.ONEDNN_MAX_CPU_ISA, env.DNNL_MAX_CPU_ISA, env.ATEN_CPU_CAPABILITY]).toEqual(['Haswell', 'AVX2', 'AVX2', 'avx2']);
      expect(() => checkReferenceCore('Haswell')).not.toThrow();
      expect(() => checkReferenceCore('SkylakeX')).toThrow(/OpenBLAS ran its SkylakeX kernels, not Haswell's/);
      expect(() => checkReferenceCore(undefined)).toThrow(/unknown kernels/);
    } finally {
      parseReferenceIsa([]);
    }
  });

  it('a value other than native or avx2 is refused', () => {
    expect(() => parseReferenceIsa(['--reference-isa', 'sse'])).toThrow('--reference-isa sse: expected native or avx2');
    expect(() => parseReferenceIsa(['--reference-isa'])).toThrow('--reference-isa (missing): expected native or avx2');
  });
});
