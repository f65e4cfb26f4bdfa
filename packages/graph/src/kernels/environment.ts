/**
 * What the graph package asks of the JavaScript runtime around it, in one place, so that nothing
 * else needs a Node built-in: a browser has no `process`, and a bundler must not meet a `node:`
 * import. Both reads below find nothing outside Node (Deno and Bun answer like Node).
 */
interface NodeLike {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

const nodeLike = (): NodeLike | undefined => (globalThis as { process?: NodeLike }).process;

/** An environment variable (BACKPROP_KERNELS, BACKPROP_WASM_MB) where the runtime has them, else undefined. */
export function setting(name: string): string | undefined {
  try {
    return nodeLike()?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/**
 * Asks the engine to compile relaxed SIMD where it has to be asked: Node 20's V8 has it behind a
 * flag (on by default from Node 22 and in Chrome since 114). The flag is set through node:v8,
 * reached by `process.getBuiltinModule` (Node 20.16+), so that no bundler sees an import of it.
 * Elsewhere, and in older Node 20 releases, nothing happens: the plain build runs.
 */
export function allowRelaxedSimd(): void {
  try {
    const v8 = nodeLike()?.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
    v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
  } catch {
    // not a V8 that takes the flag
  }
}
