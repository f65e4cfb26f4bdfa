// vitest's globalSetup: the compiled packages (dist/, which the CLI's processes and the packed
// tarballs run) are built from the sources before any test starts, so no test runs a stale build.
// As `npm run build`: tsc -b is incremental (when nothing changed since the last build it only
// compares timestamps), then the CLI's bundle (packages/cli/scripts/bundle.mjs, a fraction of a second).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const projects = ['graph', 'mlp', 'cli'].map((p) => `packages/${p}/tsconfig.build.json`);
  for (const args of [[tsc, '-b', ...projects], ['packages/cli/scripts/bundle.mjs']]) {
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the build (npm run build) failed:\n${r.stdout}${r.stderr}`);
  }
}
