// The site's training worker (src/training/mnist-worker.ts) in Debian's chromium: bundled by esbuild for the
// browser, fed MNIST over http as the site serves it (gzip-compressed IDX files), it trains the
// run `backprop train` trains with the same settings and gives the same bits: every epoch's
// losses and accuracies, and the final weights' SHA-256.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultMnistDir, readTensorFile } from '@backprop/mlp';
import { bundle, hasChromium, inCI, launch, missing } from '../../../test/chromium.ts';
import type { RunSettings } from '../src/training/protocol.ts';
import lenet from '../../../examples/models/lenet.ts';

if (!hasChromium && !inCI) console.warn(`training.test.ts: ${missing}; the browser tests are skipped (outside CI)`);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const web = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'backprop-web-training-'));
let browser: Awaited<ReturnType<typeof launch>> | undefined;
let server: Server | undefined;
let origin = '';

/** What the page reports of a run. */
interface PageRun {
  error?: string;
  epochs: { epoch: number; trainLoss: number; testLoss: number; trainAccuracy: number; testAccuracy: number; meanIterationLoss: number }[];
  iterations: number;
  sha256: string;
}

/** The page: starts a run in the worker, collects its epochs, and hashes the weights it ends with. */
const page = `
const worker = new Worker('/worker.js', { type: 'module' });
const epochs = [];
let iterations = 0;
worker.onmessage = async ({ data: m }) => {
  if (m.type === 'error') globalThis.result = { error: m.message };
  if (m.type === 'progress') iterations += m.losses.length;
  if (m.type === 'epoch') epochs.push({ epoch: m.stats.epoch, trainLoss: m.stats.train.loss, testLoss: m.stats.test.loss, trainAccuracy: m.stats.train.accuracy, testAccuracy: m.stats.test.accuracy, meanIterationLoss: m.stats.meanIterationLoss });
  if (m.type === 'done') {
    const bytes = new Uint8Array(m.weights.reduce((n, w) => n + w.byteLength, 0));
    let at = 0;
    for (const w of m.weights) { bytes.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), at); at += w.byteLength; }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    globalThis.result = { epochs, iterations, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }
};
addEventListener('message', () => {});
worker.postMessage({ type: 'start', run: JSON.parse(decodeURIComponent(location.hash.slice(1))), data: '/mnist/' });
`;

beforeAll(async () => {
  if (!hasChromium) return;
  const worker = await bundle(`import './src/training/mnist-worker.ts';`, web);
  const files = new Map<string, { type: string; body: string | Buffer }>([
    ['/', { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><script type="module" src="/main.js"></script>' }],
    ['/main.js', { type: 'text/javascript', body: page }],
    ['/worker.js', { type: 'text/javascript', body: worker }],
    ['/favicon.ico', { type: 'image/x-icon', body: '' }],
  ]);
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    files.set(`/mnist/${name}.gz`, { type: 'application/gzip', body: gzipSync(readFileSync(join(defaultMnistDir(), name)), { level: 1 }) });
  }
  server = createServer((req, res) => {
    const file = files.get(req.url ?? '');
    res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain' });
    res.end(file?.body ?? '');
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A run in the page's worker. */
async function inPage(run: RunSettings): Promise<PageRun> {
  const tab = await browser!.context.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(e.message));
  tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    await tab.goto(`${origin}/#${encodeURIComponent(JSON.stringify(run))}`);
    await tab.waitForFunction(() => 'result' in globalThis, undefined, { timeout: 0, polling: 100 });
    const result = await tab.evaluate(() => (globalThis as unknown as { result: PageRun }).result);
    expect(errors).toEqual([]);
    return result;
  } finally {
    await tab.close();
  }
}

/** The same run by the CLI: its epochs (from --json) and the SHA-256 of its weights, in the network's order. */
function inNode(run: RunSettings): { epochs: PageRun['epochs']; sha256: string } {
  const out = join(scratch, `run-${run.seed}-${run.init}-${run.model ?? 'mlp'}`);
  const network =
    run.model === 'lenet' ? ['--model', 'examples/models/lenet.ts'] : ['--layers', run.layers.join(','), '--activation', run.activation, '--init', run.init];
  const args = ['train', ...network, '--loss', run.loss, '--lr', String(run.lr)];
  args.push('--batch-size', String(run.batchSize), '--epochs', String(run.epochs), '--optimizer', run.optimizer);
  args.push('--seed', String(run.seed), '--subset', String(run.subset), '--json', '--out', out);
  const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/backprop.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`backprop ${args.join(' ')} failed: ${r.stderr}`);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const mean = (e: number) => metrics.find((m) => m.type === 'epoch' && m.epoch === e)?.meanIterationLoss;
  const epochs = lines
    .filter((l) => l.event === 'epoch')
    .map((l) => ({
      epoch: l.epoch,
      trainLoss: l.trainLoss,
      testLoss: l.testLoss,
      trainAccuracy: l.trainAccuracy,
      testAccuracy: l.testAccuracy,
      meanIterationLoss: mean(l.epoch),
    }));
  const { tensors } = readTensorFile(join(out, 'model.safetensors'));
  const hash = createHash('sha256');
  // The parameters in the network's order: an MLP's layers, or the model file's parameters as it lists them.
  const names =
    run.model === 'lenet'
      ? Object.keys(lenet.parameters)
      : Array.from({ length: run.layers.length - 1 }, (_, i) => [`layers.${i}.weight`, `layers.${i}.bias`]).flat();
  for (const name of names) hash.update(tensors.get(name)!.data as Float32Array);
  return { epochs, sha256: hash.digest('hex') };
}

const paperNetwork = { layers: [784, 800, 100, 10], activation: 'tanh', loss: 'hinge', lr: 0.01, batchSize: 8, optimizer: 'sgd' } as const;

describe('the training worker in Chromium', () => {
  it("trains the paper's network on 1200 images for 300 steps with the CLI's bits, its loss falling and its test accuracy past 80%", async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const run: RunSettings = { ...paperNetwork, layers: [...paperNetwork.layers], init: 'xavier', epochs: 2, seed: 7, subset: 1200 };
    const [page, node] = [await inPage(run), inNode(run)];
    expect(page.error).toBeUndefined();
    expect(page.iterations).toBe(300);
    expect(page.epochs).toEqual(node.epochs);
    expect(page.sha256).toBe(node.sha256);
    expect(page.epochs[1].trainLoss).toBeLessThan(page.epochs[0].trainLoss);
    expect(page.epochs[1].testAccuracy).toBeGreaterThan(0.8);
  }, 300_000);

  it("with the paper's initialisation (normal draws: Math.log and Math.cos) too, for this seed: the float32 weights round away their last-bit differences", async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const run: RunSettings = { ...paperNetwork, layers: [...paperNetwork.layers], init: 'paper', epochs: 1, seed: 3, subset: 600 };
    const [page, node] = [await inPage(run), inNode(run)];
    expect(page.error).toBeUndefined();
    expect(page.epochs).toEqual(node.epochs);
    expect(page.sha256).toBe(node.sha256);
  }, 300_000);

  it('trains LeNet-5 (examples/models/lenet.ts, its He initialisation: normal draws) for 15 steps with the bits of backprop train --model', async () => {
    if (!browser) return expect(inCI, missing).toBe(false);
    const run: RunSettings = { ...paperNetwork, layers: [784, 10], activation: 'relu', init: 'paper', model: 'lenet', epochs: 1, seed: 2, subset: 120 };
    const [page, node] = [await inPage(run), inNode(run)];
    expect(page.error).toBeUndefined();
    expect(page.iterations).toBe(15);
    expect(page.epochs).toEqual(node.epochs);
    expect(page.sha256).toBe(node.sha256);
  }, 300_000);
});
