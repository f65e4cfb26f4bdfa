#!/usr/bin/env node
// The `backprop` binary: the command line compiled to JavaScript (dist/, which the install step
// builds, and `npm run build` again). Only a model file is TypeScript compiled as it loads.
const entry = new URL('../dist/cli.js', import.meta.url);
try {
  await import(entry.href);
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || e.url !== entry.href) throw e;
  console.error('backprop: the command line is not built (its dist/ is missing): run npm run build');
  process.exit(2);
}
