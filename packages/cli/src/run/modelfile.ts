/** Model files as the CLI loads them: through tsx, as it runs its own TypeScript. */
import { loadModelFile, type ModelFile } from '@backprop/mlp';

let commonJs = false;

/**
 * `loadModelFile` with tsx's CommonJS hooks registered beside its ESM ones (bin/backprop.mjs), so that a
 * .ts file outside a package of "type": "module" (which Node runs as CommonJS) loads too. Registered
 * here, when a model file is loaded, so that no other command pays for them at startup.
 */
export async function openModelFile(path: string, options?: Parameters<typeof loadModelFile>[1]): Promise<ModelFile> {
  if (!commonJs) {
    (await import('tsx/cjs/api')).register();
    commonJs = true;
  }
  return loadModelFile(path, options);
}
