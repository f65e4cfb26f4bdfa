/**
 * The two builds of the WebAssembly kernels, embedded in the package (binaries.ts, written by the
 * install step from build/*.wasm), so that Node, browsers and every bundler find them without a
 * file, a URL or any configuration. Both import a shared memory (memory.ts), and are small enough
 * (11.5 KB each) for a synchronous `new WebAssembly.Module` on a browser's main thread (Chrome
 * refuses only modules over 8 MB there).
 */
import { fused, plain } from './binaries.ts';
import { allowRelaxedSimd, setting } from './environment.ts';

/** 'fused': products with relaxed SIMD's fused multiply-add; 'plain': 128-bit SIMD only. */
export type Build = 'fused' | 'plain';

const decoded: Partial<Record<Build, Uint8Array<ArrayBuffer>>> = {};

/** The bytes of a build. */
export function binary(build: Build): Uint8Array<ArrayBuffer> {
  return (decoded[build] ??= Uint8Array.from(atob(build === 'fused' ? fused : plain), (c) => c.charCodeAt(0)));
}

let chosen: Build | null | undefined;

/**
 * The build this engine runs, by feature detection (`WebAssembly.validate`): the fused one where it
 * compiles relaxed SIMD (in Node 20 once the flag is set), else the plain one; null, for the
 * TypeScript kernels, where it has no WebAssembly SIMD or shared memory, or BACKPROP_KERNELS=js asks
 * for them. BACKPROP_KERNELS=simd asks for the plain build. Decided once, on first use.
 */
export function chosenBuild(): Build | null {
  if (chosen !== undefined) return chosen;
  const asked = setting('BACKPROP_KERNELS');
  if (asked === 'js' || typeof WebAssembly !== 'object' || !WebAssembly.validate(binary('plain'))) return (chosen = null);
  if (asked === 'simd') return (chosen = 'plain');
  if (!WebAssembly.validate(binary('fused'))) allowRelaxedSimd();
  return (chosen = WebAssembly.validate(binary('fused')) ? 'fused' : 'plain');
}
