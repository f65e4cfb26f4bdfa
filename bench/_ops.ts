import { Rng, Tape, tidy, ops, kernels } from '@backprop/graph';
import { loadMnist, lossOnTape, MLP, SGD } from '@backprop/mlp';
const { train } = loadMnist();
const rng = Rng.seeded(1);
const net = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, rng);
const params = net.parameters();
const sgd = new SGD(params, 0.01);
const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
const times = new Map<string, number>();
const add = (k: string, t: number) => times.set(k, (times.get(k) ?? 0) + t);
for (const [name, op] of Object.entries(ops)) {
  const f = (op as any).forward;
  (op as any).forward = (...args: any[]) => {
    const t0 = performance.now(); const r = f(...args); add(name + ' fwd', performance.now() - t0);
    const b = r.backward;
    r.backward = (g: any, needs: any) => { const t1 = performance.now(); const x = b(g, needs); add(name + ' bwd', performance.now() - t1); return x; };
    return r;
  };
}
const N = 4000;
let tb = 0, ts = 0, tt = 0, tall = 0;
for (let s = 0; s < N; s++) {
  const a0 = performance.now();
  tidy(() => {
    const t0 = performance.now();
    const { X, y } = train.batch(order.subarray(s * 8, s * 8 + 8));
    tb += performance.now() - t0;
    const t = new Tape(); const loss = lossOnTape(t, 'hinge', net.forward(t, X), y);
    const t1 = performance.now(); t.backward(loss); tt += performance.now() - t1;
    const t2 = performance.now(); sgd.step(); ts += performance.now() - t2;
  });
  tall += performance.now() - a0;
}
const us = (x: number) => (1000 * x / N).toFixed(1).padStart(7);
console.log('all', us(tall), 'batch', us(tb), 'backward', us(tt), 'sgd', us(ts));
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) console.log(k.padEnd(20), us(v));
