/**
 * Module hooks for model files (registered by modelfile.ts, in Node's hooks thread): a model file is
 * TypeScript, compiled here as it is imported, and its imports of our packages are the CLI's own.
 *  - resolve: `@backprop/graph` and `@backprop/mlp` become the modules the CLI itself runs, wherever
 *    the model file is (one memory, one Tensor class; a file outside any project with node_modules
 *    finds them too); a `./x.js` that does not exist beside a TypeScript file is its `./x.ts`.
 *  - load: a `.ts` or `.mts` file is compiled by esbuild (types stripped, nothing checked) and runs as
 *    an ES module, as `export default { ... }` asks, whatever the package.json around it says.
 * The CLI's own code is JavaScript and never passes through here: nothing is registered until a
 * model file is loaded.
 */
import { readFile } from 'node:fs/promises';
import type { InitializeHook, LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the CLI passes: the URL each of our packages resolves to in the CLI. */
export interface ModelHooksData {
  packages: Record<string, string>;
}

let packages: Record<string, string> = {};

export const initialize: InitializeHook<ModelHooksData> = (data) => {
  packages = data.packages;
};

const typescript = /\.m?ts$/;

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const own = packages[specifier];
  if (own !== undefined) return { url: own, format: 'module', shortCircuit: true };
  try {
    return await nextResolve(specifier, context);
  } catch (e) {
    const parent = context.parentURL ?? '';
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\//.test(specifier) || !typescript.test(parent)) throw e;
    // TypeScript's own convention: `import './helper.js'` in a .ts file means helper.ts.
    if (/\.m?js$/.test(specifier)) {
      try {
        return await nextResolve(specifier.replace(/js$/, 'ts'), context);
      } catch {
        // neither is there: named as the file writes it, below
      }
    }
    return missing(specifier, parent);
  }
};

/** A model file's import that is not there, named as the file writes it. */
function missing(specifier: string, parent: string): never {
  throw Object.assign(new Error(`Cannot find module '${specifier}' imported from ${fileURLToPath(parent)}`), { code: 'ERR_MODULE_NOT_FOUND' });
}

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith('file:') || !typescript.test(url)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { transform } = await import('esbuild');
  const { code } = await transform(await readFile(file, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, sourcemap: 'inline' });
  return { format: 'module', source: code, shortCircuit: true };
};
