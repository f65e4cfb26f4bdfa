/**
 * `npm run build:web`: the site in packages/web/dist/, every path in it relative (it works from any
 * static host, in any subdirectory). esbuild bundles src/main.ts and the panels it loads on demand
 * (code splitting: a panel's code, and Graphviz's, load when it is first shown); our packages come
 * from their sources (the `@backprop/source` condition), as in the tests.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { copyMnist } from './mnist.ts';

export const webRoot = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * Entry points beside src/main.ts (a Web Worker's module, say), each written to dist/ under its
 * own name: `new Worker(new URL('./name.js', import.meta.url), { type: 'module' })` finds it.
 */
export const workers: string[] = ['src/training/mnist-worker.ts'];

/** Builds the site into `out` (default dist/), replacing what was there. */
export async function buildSite(out = distDir): Promise<string> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: ['src/main.ts', ...workers].map((e) => `${webRoot}${e}`),
    outdir: out,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
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
  return out;
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
    console.log(`built the site in ${await buildSite()}`);
  } catch {
    process.exit(1); // esbuild has printed what failed, with the file and line
  }
}
