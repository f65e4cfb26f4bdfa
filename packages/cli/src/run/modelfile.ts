/** Model files as the CLI loads them: TypeScript compiled as it is imported, on the CLI's own packages. */
import { register } from 'node:module';
import { loadModelFile, type ModelFile } from '@backprop/mlp';
import type { ModelHooksData } from './model-hooks.ts';
import { interruptible } from '../process.ts';

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
  const model = await loadModelFile(path, options);
  // Ctrl-C stops a forward pass that never returns: at the start (the check on two images), in
  // evaluation (long batches, no yield) and in gradcheck. A training step is left as it is where the
  // command listens for SIGINT (the training loop, which yields between steps); SIGTERM ends any.
  const forward = model.definition.forward;
  model.definition.forward = function (t, p, X, ctx) {
    if (ctx.training && process.listenerCount('SIGINT') > 0) return forward.call(this, t, p, X, ctx);
    return interruptible(() => forward.call(this, t, p, X, ctx));
  };
  return model;
}
