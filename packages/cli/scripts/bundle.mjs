// dist/cli.js, what bin/backprop.mjs runs: dist/main.js (tsc's output) with yargs and its
// dependencies inlined, so that every command starts without resolving and loading yargs' ~50
// modules (40 ms of CPU, more than a bare `node -e 0`). Our own modules stay the files tsc wrote:
// relative imports are left as they are, so each command's module still loads only when chosen.
import { build } from 'esbuild';

const own = {
  name: 'own-modules',
  setup: (b) => b.onResolve({ filter: /^\.\.?\// }, (a) => (a.importer.includes('/node_modules/') ? undefined : { path: a.path, external: true })),
};
await build({
  entryPoints: [new URL('../dist/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/cli.js', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [own],
  logLevel: 'warning',
});
