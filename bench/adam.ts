/**
 * `npx tsx bench/adam.ts`: one Adam update of LeNet-5's ten parameter tensors (61,706 float32s),
 * as one WebAssembly call over all of them (kernels.adamSteps, the multi-tensor apply) and as one
 * call a tensor, against the per-tensor TypeScript loop (kernels.adamStep: the reference), and the whole
 * `Adam.step()` an optimiser takes. Interleaved in one run, 5 runs, medians; the bits are checked equal first.
 */
import { readFileSync } from 'node:fs';
import { Adam, allocate, kernels, Rng, type Tensor } from '@backprop/graph';
import { kernelsName } from '../packages/graph/src/kernels/wasm.ts';
import { median } from './timing.ts';

// conv1 [6,1,5,5], conv2 [16,6,5,5], fc 400-120-84-10 (nn.Linear's [in, out]), each with its bias
const shapes = [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [400, 120], [120], [120, 84], [84], [84, 10], [10]];
const rng = Rng.seeded(1);
const draw = (s: number[], positive = false) =>
  (positive ? rng.rand(s, { requiresGrad: true }) : rng.randn(s, { requiresGrad: true })).array.data as Float32Array;
const slots = shapes.map((s) => ({ w: draw(s), g: draw(s), m: draw(s), v: draw(s, true) }));
const h = { lr: 1e-3, b1: 0.9, b2: 0.999, c1: 1 - 0.9 ** 10, c2: 1 - 0.999 ** 10, eps: 1e-8, decay: 1 };

// the same bits both ways, from copies of one start
const copy = () => slots.map(({ w, g, m, v }) => ({ w: own(w), g: own(g), m: own(m), v: own(v) }));
function own(a: Float32Array): Float32Array {
  const out = allocate('float32', a.length, 'owned') as Float32Array;
  out.set(a);
  return out;
}
const [a, b] = [copy(), copy()];
for (let i = 0; i < 3; i++) {
  kernels.adamSteps(a, h);
  for (const s of b) kernels.adamStep(s, h);
}
if (!a.every((s, k) => ['w', 'm', 'v'].every((x) => Buffer.compare(bytes(s[x as 'w']), bytes(b[k][x as 'w'])) === 0))) throw new Error('the bits differ');
function bytes(x: Float32Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

const params: Tensor[] = shapes.map((s) => rng.randn(s, { requiresGrad: true }));
params.forEach((p) => (p.grad = rng.randn(p.shape)));
const opt = new Adam(params, 1e-3);

const variants: Record<string, () => void> = {
  'per-tensor TypeScript loop (reference)': () => {
    for (const s of slots) kernels.adamStep(s, h);
  },
  'WebAssembly, one call a tensor': () => {
    for (const s of slots) kernels.adamSteps([s], h);
  },
  'one WebAssembly call (adamSteps)': () => kernels.adamSteps(slots, h),
  'Adam.step() (through p.update)': () => opt.step(),
};
const reps = 400;
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const fn of Object.values(variants)) for (let i = 0; i < 200; i++) fn(); // warm up
for (let run = 0; run < 5; run++) {
  for (const [name, fn] of Object.entries(variants)) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    samples[name].push(((performance.now() - t0) * 1000) / reps);
  }
}
const info = readFileSync('/proc/cpuinfo', 'utf8'),
  field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1] ?? '?';
const cpu = `${field('model name')} (family ${field('cpu family')} model ${field('model')}${/ avx512f /.test(info) ? ', AVX-512' : ''})`;
console.log(`${cpu}, node ${process.version}, float32 kernels: ${kernelsName()}`);
console.log(
  `Adam over LeNet-5's ${shapes.length} tensors (${slots.reduce((n, s) => n + s.w.length, 0)} floats), µs per step, median of 5 interleaved runs of ${reps}:`,
);
const reference = median(samples['per-tensor TypeScript loop (reference)']);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`  ${name.padEnd(40)} ${m.toFixed(1).padStart(7)}  ${(m / reference).toFixed(2)}x  (runs ${xs.map((x) => x.toFixed(0)).join(', ')})`);
}
