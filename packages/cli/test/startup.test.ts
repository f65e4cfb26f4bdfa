import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../bin/backprop.mjs', import.meta.url));
const recorder = fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url));

/** The URLs of every module `backprop ...args` loads (its module graph), and its exit code. */
function modulesOf(args: string[]): { code: number | null; modules: string[] } {
  const file = join(dir, `modules-${args.join('-').replace(/\W+/g, '_')}.txt`);
  const r = spawnSync(process.execPath, ['--import', recorder, bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, RECORD_MODULES: file },
  });
  return { code: r.status, modules: readFileSync(file, 'utf8').trim().split('\n') };
}

describe('startup: each command loads only what it uses', () => {
  it('--help runs compiled JavaScript, with yargs inlined, and loads neither vega nor the graph and mlp packages', () => {
    const { code, modules } = modulesOf(['--help']);
    expect(code).toBe(0);
    // The recorder sees the CLI's own modules and the packages it loads.
    expect(modules).toContain(new URL('../dist/cli.js', import.meta.url).href);
    expect(modules.filter((m) => m.endsWith('.ts') || /\/node_modules\/(tsx|esbuild|yargs)\//.test(m))).toEqual([]);
    expect(modules.filter((m) => /\/vega|\/packages\/(graph|mlp)\//.test(m))).toEqual([]);
  });

  it('check, train --help and evaluate do not load vega', () => {
    const vega = (args: string[]) => modulesOf(args).modules.some((m) => /\/node_modules\/vega(-lite)?\//.test(m));
    expect(vega(['check', 'examples/paper-worked-example.txt'])).toBe(false);
    expect(vega(['train', '--help'])).toBe(false);
    expect(vega(['evaluate', join(dir, 'no-such-model.safetensors')])).toBe(false);
  });

  it('only a model file is compiled: esbuild and the model hooks load with --model, and nothing is TypeScript without it', () => {
    const compiler = (m: string) => /\/node_modules\/(tsx|esbuild)\/|\/dist\/run\/model-hooks\.js$/.test(m);
    const train = modulesOf(['train', '--subset', '100', '--epochs', '1', '--quiet', '--out', join(dir, 'run')]).modules;
    expect(train.filter((m) => m.endsWith('.ts') || compiler(m))).toEqual([]);
    const model = modulesOf(['gradcheck', '--model', 'examples/models/residual.ts']).modules;
    expect(model.filter(compiler).length).toBe(2);
  });
});

describe('startup: check loads Graphviz and markdown-it only when it needs them', () => {
  it('a text file without --graph loads neither; --graph loads Graphviz; a Markdown file loads markdown-it', () => {
    const loads = (args: string[]) => {
      const { modules } = modulesOf(args);
      return { viz: modules.some((m) => m.includes('/@viz-js/viz/')), markdown: modules.some((m) => m.includes('/markdown-it/')) };
    };
    expect(loads(['check', 'examples/paper-worked-example.txt'])).toEqual({ viz: false, markdown: false });
    expect(loads(['check', 'examples/paper-worked-example.txt', '--graph', join(dir, 'g.svg')])).toEqual({ viz: true, markdown: false });
    expect(loads(['check', 'examples/derivation.md'])).toEqual({ viz: false, markdown: true });
  });
});

describe('backprop without its build', () => {
  it('says in one line how to build it', () => {
    const copy = join(dir, 'unbuilt', 'bin');
    mkdirSync(copy, { recursive: true });
    copyFileSync(bin, join(copy, 'backprop.mjs'));
    const r = spawnSync(process.execPath, [join(copy, 'backprop.mjs'), '--help'], { encoding: 'utf8' });
    expect(r.stderr).toBe('backprop: the command line is not built (its dist/ is missing): run npm run build\n');
    expect(r.status).toBe(2);
  });
});

describe('backprop --version', () => {
  it("prints the CLI package's version", () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const r = backprop(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });
});
