/**
 * `npm run build:web`: the site in packages/web/dist/, every path in it relative (it works from any
 * static host, in any subdirectory). esbuild bundles src/main.ts and the panels it loads on demand
 * (code splitting: a panel's code, and Graphviz's, load when it is first shown); our packages come
 * from their sources (the `@backprop/source` condition), as in the tests.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { buildDocs } from './docs.ts';
import { copyMnist } from './mnist.ts';

export const webRoot = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * Entry points beside src/main.ts (a Web Worker's module, say), each written to dist/ under its
 * own name: `new Worker(new URL('./name.js', import.meta.url), { type: 'module' })` finds it.
 */
export const workers: string[] = ['src/training/mnist-worker.ts'];

/**
 * Builds the site into `out` (default dist/), replacing what was there. `api`: also the API
 * reference (typedoc, some 20 s) into `out`/api/; without it the docs link to it is left out.
 */
export async function buildSite(out = distDir, { api = true } = {}): Promise<string> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: ['src/main.ts', ...workers].map((e) => `${webRoot}${e}`),
    outdir: out,
    entryNames: '[name]',
    // Chunks beside the entries: `new URL('./worker.js', import.meta.url)` finds an entry from any of them.
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@backprop/source'],
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  cpSync(`${webRoot}src/index.html`, `${out}index.html`);
  cpSync(`${webRoot}src/style.css`, `${out}style.css`);
  copyExamples(`${out}examples/`);
  copyMnist(out);
  if (api) apiReference(`${out}api/`);
  buildDocs(repoRoot, out, api);
  return out;
}

/** typedoc's API reference of @backprop/graph and @backprop/mlp (typedoc.json: `npm run docs:api`), written into `out`. */
function apiReference(out: string): void {
  const typedoc = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [typedoc, '--out', out, '--logLevel', 'Error'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`typedoc failed (the API reference):\n${r.stdout}${r.stderr}`);
}

/** The repository's worked derivations (examples/*.txt, examples/derivation.md), and examples/index.json: each file's name and first line. */
function copyExamples(out: string): void {
  mkdirSync(out, { recursive: true });
  const dir = `${repoRoot}examples/`;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt') || f === 'derivation.md')
    .sort();
  const index = files.map((file) => {
    const text = readFileSync(dir + file, 'utf8');
    cpSync(dir + file, out + file);
    return { file, title: text.split('\n')[0].replace(/^#+\s*/, '') };
  });
  writeFileSync(`${out}index.json`, JSON.stringify(index, null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    // --no-api: without the API reference (typedoc takes some 20 s), for a quick build.
    console.log(`built the site in ${await buildSite(distDir, { api: !process.argv.includes('--no-api') })}`);
  } catch (e) {
    // esbuild has printed what failed, with the file and line; anything else is said here
    if (!(e as { errors?: unknown }).errors) console.error(`build:web: ${(e as Error).message}`);
    process.exit(1);
  }
}
