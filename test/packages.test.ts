/**
 * The packages as another project gets them. Packed once for this file (pnpm pack: a dependency
 * between our packages becomes its version), installed with plain npm into a scratch project in the
 * system's temporary directory, outside this repository, so that nothing resolves to the workspace:
 * (a) a plain `node` ESM script and the installed `backprop` binary, with the repository's bits;
 * (b) a user's TypeScript file typechecked against the installed .d.ts; (c) a page bundled by
 * esbuild (no plugins, no configuration) from the installed @backprop/graph, run in Debian's chromium,
 * with Node's bits. Third-party dependencies come from npm's cache or the npm registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['graph', 'mlp', 'cli'];
const executablePath = process.env.BACKPROP_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(executablePath);
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const missing = `${executablePath} is missing (apt-get install chromium, or set BACKPROP_CHROMIUM to a chromium binary)`;
if (!hasChromium && !inCI) console.warn(`packages.test.ts: ${missing}; the browser test is skipped (outside CI)`);

// npm and pnpm in a clean environment: none of the npm_* settings of a `pnpm test` around us.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

/** Runs a command to its end; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}
const node = (args: string[], cwd: string) => run(process.execPath, args, cwd);

const packs = mkdtempSync(join(tmpdir(), 'backprop-packs-'));
const project = mkdtempSync(join(tmpdir(), 'backprop-user-'));
afterAll(() => {
  rmSync(packs, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
}, 60_000);

beforeAll(() => {
  const pnpm = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager as string;
  // The published packages only (pnpm packs a private one too: the site, @backprop/web).
  run('npx', ['-y', pnpm, '-r', ...packages.flatMap((p) => ['--filter', `@backprop/${p}`]), 'pack', '--pack-destination', packs], root);
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  run('npm', ['install', ...tarballs, '@types/node@20', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
}, 300_000);

describe('the packed packages, installed with npm in a project outside the repository', () => {
  it('are the tarballs, one copy of each, depending on each other by version', () => {
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')).packages as Record<string, { resolved?: string }>;
    const ours = Object.entries(lock).filter(([path]) => path.includes('@backprop/'));
    expect(ours.map(([path, p]) => [path, p.resolved?.endsWith('.tgz')])).toEqual(packages.map((p) => [`node_modules/@backprop/${p}`, true]).sort());
    const mlp = JSON.parse(readFileSync(join(project, 'node_modules/@backprop/mlp/package.json'), 'utf8'));
    expect(mlp.dependencies['@backprop/graph']).toBe(mlp.version);
    expect(mlp.private).toBeUndefined();
    expect(mlp.license).toBe('MIT');
  });

  it('(a) run a plain node ESM script that gradchecks and trains, with the bits it has in the repository', () => {
    copyFileSync(join(root, 'examples/installed/train.mjs'), join(project, 'train.mjs'));
    const out = node(['train.mjs'], project);
    expect(out).toMatch(/^input 0 \[4,3\]: ok, 12 entries/);
    const losses = [...out.matchAll(/cross-entropy (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    expect(out).toBe(node(['examples/installed/train.mjs'], root));
  });

  it('(a) export the checker and the example generator as subpaths, as the CLI and the site import them', () => {
    const script = `import { checkSource, summarize } from '@backprop/mlp/check';
import { derivationOfMarkdown } from '@backprop/mlp/check/markdown';
import { exampleText } from '@backprop/mlp/example';
const text = exampleText({ layers: '2,2,1', seed: 1, digits: 4 });
const md = derivationOfMarkdown('# a write-up\\n\\n\`\`\`derivation\\nx = 2\\ny = x * 3 = 7\\n\`\`\`\\n');
console.log(summarize(checkSource(text).report));
console.log(summarize(checkSource(md.source).report));
`;
    writeFileSync(join(project, 'subpaths.mjs'), script);
    expect(node(['subpaths.mjs'], project).trim().split('\n')).toEqual([
      expect.stringMatching(/^\d+ claims: \d+ ok, 0 rounding, 0 wrong; score (\d+)\/\1$/),
      '1 claim: 0 ok, 0 rounding, 1 wrong; score 0/1',
    ]);
  });

  it("(a) each package README's example runs as written", () => {
    for (const p of ['graph', 'mlp']) {
      const readme = readFileSync(join(project, 'node_modules/@backprop', p, 'README.md'), 'utf8');
      const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, `${p}/README.md has a js example`).toBeDefined();
      writeFileSync(join(project, `readme-${p}.mjs`), example!);
      expect(node([`readme-${p}.mjs`], project)).not.toBe('');
    }
  });

  it("(a) give a working backprop binary: MNIST and the kernels found in the installed packages, the weights of the repository's CLI", () => {
    const bin = join(project, 'node_modules/.bin/backprop');
    expect(run(bin, ['--help'], project)).toMatch(/^backprop <command> \[options\]/);
    const args = ['train', '--layers', '784,32,10', '--subset', '600', '--epochs', '1', '--quiet'];
    run(bin, [...args, '--out', 'run'], project);
    const repo = mkdtempSync(join(tmpdir(), 'backprop-repo-run-'));
    try {
      node([join(root, 'packages/cli/bin/backprop.mjs'), ...args, '--out', repo], root);
      expect(readFileSync(join(project, 'run/model.safetensors')).equals(readFileSync(join(repo, 'model.safetensors')))).toBe(true);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it("(b) typecheck a user's TypeScript file against the installed .d.ts (strict, no skipLibCheck), and catch its type errors", () => {
    const options = { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], noEmit: true };
    writeFileSync(
      join(project, 'user.ts'),
      `import { Rng, Tape, gradcheck, type Tensor } from '@backprop/graph';
import { MLP, SGD, type MLPSpec } from '@backprop/mlp';

const spec: MLPSpec = { sizes: [4, 8, 3], activation: 'tanh' };
const net = MLP.init(spec, Rng.seeded(1));
const t = new Tape();
const S: Tensor = net.forward(t, Rng.seeded(2).rand([5, 4]));
t.backward(t.hingeLoss(S, [0, 1, 2, 1, 0]));
new SGD(net.parameters(), 0.1).step();
const report = gradcheck((tape, x) => tape.sum(tape.tanh(x)), [Rng.seeded(3).rand([3], { dtype: 'float64' })]);
const ok: boolean = report.ok;
console.log(ok, S.shape.join('x'));
`,
    );
    writeFileSync(
      join(project, 'wrong.ts'),
      `import { Rng, tensor } from '@backprop/graph';
import { MLP } from '@backprop/mlp';

const shape: string = tensor([1, 2]).shape;
MLP.init({ sizes: [4, 3], activation: 'softsign' }, Rng.seeded(1));
`,
    );
    // One run over both: no error in the user's file, and exactly the two of the wrong one.
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['user.ts', 'wrong.ts'] }));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
    expect(tsc.status).toBe(2);
    // The types are real, not any: a shape is not a string, an activation is one of the table's.
    expect(tsc.stdout.trim().split('\n')).toEqual([
      "wrong.ts(4,7): error TS2322: Type 'number[]' is not assignable to type 'string'.",
      `wrong.ts(5,27): error TS2322: Type '"softsign"' is not assignable to type 'ActivationName'.`,
    ]);
  }, 120_000);

  it("(c) bundle a page of the installed @backprop/graph with esbuild, no plugins and no configuration, and get Node's bits in Chromium", async (context) => {
    if (!hasChromium && inCI) throw new Error(`${missing}: in CI (CI=${process.env.CI}) the browser test must run, not be skipped`);
    if (!hasChromium) context.skip(missing);
    // A float32 network through the WebAssembly kernels (products, tanh, bias, sums) and a float64
    // one through the TypeScript kernels: the loss and every gradient, as bit patterns. Uniform draws
    // only (Rng.normal calls Math.log and Math.cos, whose last bit may differ between V8 releases).
    writeFileSync(
      join(project, 'bits.mjs'),
      `import { Rng, Tape } from '@backprop/graph';

const hex = (values, type) => [...new Uint32Array(type.from(values).buffer)].map((u) => u.toString(16).padStart(8, '0')).join('');

export function bits(dtype) {
  const rng = Rng.seeded(7);
  const uniform = (shape, scale) => rng.tensor(shape, (r) => scale * (2 * r.uniform() - 1), { dtype, requiresGrad: true });
  const X = rng.tensor([16, 20], (r) => (r.uniform() < 0.3 ? 0 : r.uniform()), { dtype });
  const labels = Array.from({ length: 16 }, () => rng.int(10));
  const params = [uniform([20, 32], 0.3), uniform([32], 0.1), uniform([32, 10], 0.3), uniform([10], 0.1)];
  const [W1, b1, W2, b2] = params;
  const t = new Tape();
  const loss = t.hingeLoss(t.add(t.matmul(t.tanh(t.add(t.matmul(X, W1), b1)), W2), b2), labels);
  t.backward(loss);
  const type = dtype === 'float64' ? Float64Array : Float32Array;
  return { loss: hex([loss.item()], type), grads: params.map((p) => hex(p.grad.toFlatArray(), type)) };
}

export const result = { float32: bits('float32'), float64: bits('float64') };
`,
    );
    writeFileSync(join(project, 'page.mjs'), "import { result } from './bits.mjs';\nglobalThis.result = result;\n");
    run(join(root, 'node_modules/.bin/esbuild'), ['page.mjs', '--bundle', '--outfile=page.js', '--log-level=error'], project);
    const inNode = JSON.parse(node(['--input-type=module', '-e', "import { result } from './bits.mjs'; console.log(JSON.stringify(result));"], project));
    const script = readFileSync(join(project, 'page.js'), 'utf8');
    const server = createServer((req, res) => {
      const js = req.url === '/page.js';
      res.writeHead(js || req.url === '/' ? 200 : 404, { 'content-type': js ? 'text/javascript' : 'text/html' });
      res.end(js ? script : req.url === '/' ? '<!doctype html><meta charset="utf-8"><script src="/page.js"></script>' : '');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const inChromium = await page.evaluate(() => (globalThis as unknown as { result?: unknown }).result);
      expect(errors).toEqual([]);
      expect(inChromium).toEqual(inNode);
    } finally {
      await browser.close();
      server.close();
    }
  }, 120_000);
});
