// Newton's method for logistic regression, with Hessian-vector products from the tape (no Hessian
// is formed: conjugate gradient solves H d = g from products H v alone), checked against the
// Hessian derived by hand, Xᵀ diag(p(1 - p)) X / n.
import { hvp, Rng, Tape, tensor, type Tensor } from '@backprop/graph';

const f64 = { dtype: 'float64' } as const;
const rng = Rng.seeded(3);
const n = 200,
  d = 3;
const X = rng.tensor([n, d], (r) => (r.uniform() < 1 / d ? 1 : r.normal()), f64); // features
const truth = [1.5, -2, 0.5];
const y = tensor(
  Float64Array.from({ length: n }, (_, i) => {
    const z = truth.reduce((s, w, j) => s + w * X.get(i, j), 0);
    return rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }),
  { shape: [n, 1] },
);

/** Mean binary cross-entropy of sigmoid(X w). */
const loss = (t: Tape, w: Tensor) => {
  const p = t.sigmoid(t.matmul(X, w));
  return t.neg(t.mean(t.add(t.mul(y, t.log(p)), t.mul(t.sub(1, y), t.log(t.sub(1, p))))));
};
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const vec = (v: number[]) => tensor(Float64Array.from(v), { shape: [d, 1] });

/** H v by hand: Xᵀ diag(p(1 - p)) X v / n. */
function handHv(w: number[], v: number[]): number[] {
  const out = new Array(d).fill(0);
  for (let i = 0; i < n; i++) {
    const row = [0, 1, 2].map((j) => X.get(i, j)),
      p = 1 / (1 + Math.exp(-dot(row, w)));
    const s = (p * (1 - p) * dot(row, v)) / n;
    row.forEach((x, j) => (out[j] += s * x));
  }
  return out;
}

let w = [0, 0, 0];
let worst = 0;
for (let step = 0; step <= 5; step++) {
  const t = new Tape();
  const wt = tensor(Float64Array.from(w), { shape: [d, 1], requiresGrad: true });
  const l = loss(t, wt);
  const g = t.gradients(l, [wt])[0].toFlatArray();
  console.log(
    `step ${step}: loss ${l.item().toFixed(10)}, |gradient| ${Math.sqrt(dot(g, g)).toExponential(2)}, w = [${w.map((v) => v.toFixed(6)).join(', ')}]`,
  );
  if (step === 5) break;
  // Conjugate gradient on H d = g with the tape's H v (d steps are exact for d unknowns).
  const Hv = (v: number[]) => {
    const tape = hvp(loss, [vec(w)], [vec(v)])[0].toFlatArray();
    const hand = handHv(w, v);
    worst = Math.max(worst, ...tape.map((h, i) => Math.abs(h - hand[i]) / Math.max(1e-300, Math.abs(hand[i]))));
    return tape;
  };
  let dir = [0, 0, 0],
    r = g.slice(),
    p = r.slice();
  for (let k = 0; k < d && dot(r, r) > 1e-30; k++) {
    const Hp = Hv(p),
      alpha = dot(r, r) / dot(p, Hp);
    dir = dir.map((v, i) => v + alpha * p[i]);
    const next = r.map((v, i) => v - alpha * Hp[i]);
    p = next.map((v, i) => v + (dot(next, next) / dot(r, r)) * p[i]);
    r = next;
  }
  w = w.map((v, i) => v - dir[i]);
}
console.log(`H v from the tape vs the hand-derived Hessian: max relative difference ${worst.toExponential(2)}`);
