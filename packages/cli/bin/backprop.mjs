#!/usr/bin/env node
// The `backprop` binary: the command line compiled to JavaScript (dist/, which the install step
// builds, and `npm run build` again). Only a model file is TypeScript compiled as it loads.
try {
  await import('../dist/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.url ?? e.message).includes('/cli/dist/main.js')) throw e;
  console.error('backprop: the command line is not built (packages/cli/dist/ is missing): run npm run build');
  process.exit(2);
}
