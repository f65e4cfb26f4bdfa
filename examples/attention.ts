// Self-attention over a batch of sequences with batched matmul and einsum, checked to its second derivative.
import { formatShape, gradcheck, gradgradcheck, Rng, Tape, type Tensor } from '@backprop/graph';

const f64 = { dtype: 'float64' } as const;
const rng = Rng.seeded(7);
const X = rng.randn([2, 5, 4], f64); // 2 sequences of 5 tokens, 4 features each
const [Wq, Wk, Wv] = ['Wq', 'Wk', 'Wv'].map((name) => rng.randn([4, 4], { ...f64, requiresGrad: true, name }));

/** softmax(Q Kᵀ / √d) V per sequence, with Q = X Wq, K = X Wk, V = X Wv. */
function attention(t: Tape, x: Tensor, wq: Tensor, wk: Tensor, wv: Tensor): Tensor {
  const q = t.matmul(x, wq),
    k = t.matmul(x, wk),
    v = t.matmul(x, wv); // [2,5,4] by [4,4]: the weights broadcast
  const scores = t.scale(t.einsum('bqd,bkd->bqk', q, k), 1 / Math.sqrt(4)); // Q Kᵀ of each sequence: [2,5,5]
  return t.matmul(t.softmax(scores), v); // [2,5,5] by [2,5,4]
}

const t = new Tape();
const out = attention(t, X, Wq, Wk, Wv);
t.backward(t.sum(t.square(out)));
console.log(`out ${formatShape(out.shape)}, dl/dWq ${formatShape(Wq.grad!.shape)}, trace of dl/dWq ${t.einsum('ii', Wq.grad!).item().toFixed(6)}`);
console.log(gradcheck(attention, [X, Wq, Wk, Wv]).summary);
console.log(`second derivatives: ${gradgradcheck(attention, [X, Wq, Wk, Wv]).ok ? 'ok' : 'MISMATCH'}`);
