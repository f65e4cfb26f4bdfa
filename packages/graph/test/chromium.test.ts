// @backprop/graph in a browser: bundled by esbuild for the browser platform (no Node built-in may be
// on its path, no configuration finds the WebAssembly) and run in Debian's chromium (test/chromium.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { opCases } from '../src/index.ts';
import { bundle, hasChromium, inCI, launch, missing, runInPage } from '../../../test/chromium.ts';
import { program, type Bits } from './browser/program.ts';
import { threadProgram, type ThreadBits } from './browser/threads-program.ts';

if (!hasChromium && !inCI) console.warn(`chromium.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
const here = fileURLToPath(new URL('.', import.meta.url));
let browser: Awaited<ReturnType<typeof launch>> | undefined;
beforeAll(async () => {
  if (hasChromium) browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** node:fs and node:url for the page: what examples/custom-op.ts imports, throwing if called. */
const nodeStubs: Plugin = {
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:(fs|url)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'const no = () => { throw new Error("a Node built-in, called in the browser"); };\nexport const realpathSync = no, fileURLToPath = no;',
    }));
  },
};

/** The environment variables the graph package reads, as this process has them, for the page too (it has no `process`). */
const settings = () => {
  const env = Object.fromEntries(['BACKPROP_KERNELS', 'BACKPROP_WASM_MB'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  return Object.keys(env).length ? `globalThis.process = { env: ${JSON.stringify(env)} };` : '';
};

describe('@backprop/graph in Chromium', () => {
  it('bundles for the browser with no Node built-in and no configuration', async () => {
    const code = await bundle(`export * from './src/index.ts';`, fileURLToPath(new URL('..', import.meta.url)));
    expect(code).not.toMatch(/from ["']node:|require\(["']node:/);
    expect(code).toContain('AGFzbQ'); // the kernels, embedded: "\0asm" in base64
  });

  it('the same program gives the same bits in Node and in Chromium', async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const node = program();
    const code = await bundle(`import { program } from './browser/program.ts'; globalThis.result = program();`, here);
    const chromium = await runInPage<Bits>(browser.context, code, settings());
    expect(chromium.kernels).toBe(node.kernels);
    expect(chromium.losses).toEqual(node.losses);
    expect(chromium.grads).toEqual(node.grads);
    if (process.env.BACKPROP_KERNELS !== 'js') expect(chromium.memory).toBeGreaterThan(1024 * 1024); // it grew
  }, 120_000);

  it('kernel threads: in a cross-origin-isolated page 1, 2 and 3 threads run and give the bits of Node; elsewhere one thread', async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const node = await threadProgram();
    const code = await bundle(`import { threadProgram } from './browser/threads-program.ts'; globalThis.result = threadProgram();`, here);
    const isolated = await runInPage<ThreadBits>(browser.context, code, settings(), true);
    const plain = await runInPage<ThreadBits>(browser.context, code, settings());
    const wasm = process.env.BACKPROP_KERNELS !== 'js';
    expect(isolated.isolated).toBe(true);
    expect(isolated.running).toEqual(wasm ? [1, 2, 3] : [1, 1, 1]);
    expect(plain.isolated).toBe(false);
    expect(plain.running).toEqual([1, 1, 1]); // no SharedArrayBuffer to share with a worker
    for (const page of [isolated, plain]) for (const bits of page.bits) expect(bits).toEqual(node.bits[0]);
    expect(node.bits[1]).toEqual(node.bits[0]);
    expect(node.bits[2]).toEqual(node.bits[0]);
  }, 120_000);

  it('the op and gradcheck property tests pass in Chromium', async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const files = ['ops', 'gradcheck', 'higher'].map((f) => `import './${f}.test.ts';`).join('\n');
    const { seed } = fc.readConfigureGlobal(); // the seed test/setup.ts printed: FC_SEED replays the page's run too
    const entry = `import fc from 'fast-check';\nimport { run } from 'vitest';\nfc.configureGlobal(${JSON.stringify({ seed, numRuns: fc.readConfigureGlobal().numRuns })});\n${files}\nglobalThis.result = run();`;
    const code = await bundle(entry, here, {
      alias: { vitest: fileURLToPath(new URL('../../../test/browser/vitest.ts', import.meta.url)) },
      // gradcheck.test.ts takes its custom op from examples/custom-op.ts, a Node program too: its
      // run-as-a-program guard (process.argv, node:fs, node:url) is false in the page, as in a test.
      define: { 'process.argv': '[]' },
      plugins: [nodeStubs],
    });
    const results = await runInPage<{ name: string; error?: string }[]>(browser.context, code, settings());
    expect(results.filter((r) => r.error)).toEqual([]);
    // every op's finite-difference property ran, and its second-derivative one
    const names = new Set(results.map((r) => r.name));
    for (const op of Object.keys(opCases)) {
      expect(names).toContain(`every op agrees with finite differences (fast-check over shapes and values) > ${op}`);
      expect(names).toContain(`gradgradcheck: every op's backward is differentiable again > ${op}`);
    }
  }, 300_000);
});
