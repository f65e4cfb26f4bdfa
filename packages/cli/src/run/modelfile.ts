/** Model files as the CLI loads them: through tsx, as it runs its own TypeScript. */
import { loadModelFile, type ModelFile } from '@backprop/mlp';
import { interruptible } from '../process.ts';

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
