// @backprop/mlp/check and @backprop/mlp/example run in a page (the site's check and exercises
// panels): bundled by esbuild for the browser platform, nothing on their import graph may be a Node
// built-in (esbuild refuses to resolve one there), and the bundle runs: a derivation checked, an
// exercise made.
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const subpaths = ['@backprop/mlp/check', '@backprop/mlp/check/markdown', '@backprop/mlp/example'];

/** The subpath's module graph as one browser bundle (our packages from their sources, as the site builds them). */
async function browserBundle(entry: string): Promise<{ code: string; inputs: string[] }> {
  const out = await build({
    stdin: { contents: `export * from '${entry}';`, resolveDir: here, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    conditions: ['@backprop/source'],
  });
  return { code: out.outputFiles[0].text, inputs: Object.keys(out.metafile.inputs) };
}

describe('the browser-safe subpaths of @backprop/mlp', () => {
  for (const entry of subpaths) {
    it(`${entry} bundles for the browser with no Node built-in on its import graph`, async () => {
      const { code, inputs } = await browserBundle(entry);
      expect(inputs.filter((f) => /^node:|files\.ts$/.test(f))).toEqual([]);
      expect(code).not.toMatch(/from ["']node:|require\(["']node:|import\(["']node:/);
    }, 60_000);
  }

  it('a node: import anywhere on the graph fails the bundle (what the test above relies on)', async () => {
    await expect(browserBundle('@backprop/mlp/files')).rejects.toThrow(/node:fs/);
  }, 60_000);

  it('the bundles run: a wrong claim is wrong, an exercise has its blanks', async () => {
    const check = await browserBundle('@backprop/mlp/check');
    const example = await browserBundle('@backprop/mlp/example');
    const dir = mkdtempSync(join(tmpdir(), 'mlp-browser-'));
    try {
      const load = (name: string, code: string) => (writeFileSync(join(dir, name), code), import(/* @vite-ignore */ pathToFileURL(join(dir, name)).href));
      const { checkSource } = await load('check.mjs', check.code);
      const { exampleText } = await load('example.mjs', example.code);
      const { report } = checkSource('x = 2\ny = x * 3 = 7');
      expect(report.verdicts.map((v: { verdict: string; note?: string }) => [v.verdict, v.note])).toEqual([['wrong', 'should be 6']]);
      const text: string = exampleText({ seed: 1, digits: 4, exercise: true });
      expect(text).toMatch(/^# An exercise: one step of gradient descent by hand on a 2-2-2 network/);
      expect(text).toContain('= ?');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
