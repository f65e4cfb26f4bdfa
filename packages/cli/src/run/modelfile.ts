/** Model files as the CLI loads them: TypeScript compiled as it is imported, on the CLI's own packages. */
import { register } from 'node:module';
import { loadModelFile, type ModelFile } from '@backprop/mlp';
import type { ModelHooksData } from './model-hooks.ts';

let registered = false;

/**
 * `loadModelFile` with the hooks of model-hooks.ts registered (once, when the first model file is
 * loaded, so that no other command pays for them): the file's TypeScript is compiled, and its
 * imports of @backprop/graph and @backprop/mlp are the modules this process runs.
 */
export async function openModelFile(path: string, options?: Parameters<typeof loadModelFile>[1]): Promise<ModelFile> {
  if (!registered) {
    const data: ModelHooksData = { packages: Object.fromEntries(['@backprop/graph', '@backprop/mlp'].map((p) => [p, import.meta.resolve(p)])) };
    register(new URL(import.meta.url.endsWith('.ts') ? './model-hooks.ts' : './model-hooks.js', import.meta.url), { data });
    registered = true;
  }
  return loadModelFile(path, options);
}
