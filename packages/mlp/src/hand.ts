/**
 * The paper's backward pass written by hand (§2.1), with no tape: the matrix formulas
 *
 *   M = dl/dS                         (from the loss, §2.2)
 *   dl/dW = Hᵀ M,  dl/db = column sums of M,  dl/dH = M Wᵀ,
 *   dl/dH_pre = dl/dH ⊙ g'(H_pre)     (going down one layer, then repeat)
 *
 * It shares with the tape only kernels, each tested against its plain reference loop: the matrix
 * product, the bias add, tanh and the column sum. Not the ops, their chain rules or any derivative:
 * the loss gradient M and g'(x) (from the activations table, in a loop here) are computed apart
 * from the tape's, so the two agreeing is a real check of the formulas.
 */
import ndarray from 'ndarray';
import { allocate, dtypeOf, kernels, Tensor, type NdArray } from '@backprop/graph';
import { activations } from './activations.ts';
import type { LossName } from './losses.ts';
import type { MLP } from './mlp.ts';

export interface HandResult {
  loss: number;
  /** dl/dW and dl/db of every layer, in the order of `MLP.parameters()`. */
  grads: Tensor[];
  scores: Tensor;
}

/** Forward and hand-derived backward of `net` on a batch, in `net`'s dtype. */
export function handBackward(net: MLP, X: Tensor, labels: ArrayLike<number>, loss: LossName): HandResult {
  const g = activations[net.activation];
  const L = net.layers.length;
  // Forward, keeping every layer's input H[l] and pre-activation P[l].
  const H: NdArray[] = [X.array];
  const P: NdArray[] = [];
  for (let l = 0; l < L; l++) {
    const { W, b } = net.layers[l];
    const XW = kernels.matmul(H[l], W.array);
    const pre = kernels.add(XW, b.array, XW.shape);
    P.push(pre);
    if (l < L - 1) H.push(g.fArray ? g.fArray(pre) : mapArray(pre, g.f));
  }
  const S = P[L - 1];
  const { value, M: M0 } = lossAndGradient(loss, S, labels);
  // Backward.
  const grads: Tensor[] = [];
  let M = M0;
  for (let l = L - 1; l >= 0; l--) {
    const dW = kernels.matmul(H[l].transpose(1, 0), M); // Hᵀ M
    const db = kernels.sumAxis(M, 0); //                  Mᵀ [1, ..., 1]
    grads.unshift(new Tensor(dW), new Tensor(db));
    if (l > 0) {
      const dH = kernels.matmul(M, net.layers[l].W.array.transpose(1, 0)); // M Wᵀ
      // ⊙ g'(H_pre), in place: dH, the pre-activations and the outputs are fresh row-major arrays.
      const pre = P[l - 1].data,
        out = H[l].data,
        d = dH.data,
        df = g.df;
      for (let i = 0; i < d.length; i++) d[i] *= df(pre[i], out[i]);
      M = dH;
    }
  }
  return { loss: value, grads, scores: new Tensor(S) };
}

/**
 * The loss of scores S [n, c] and M = dl/dS (§2.2, mean over the batch). The hinge gradient is 1
 * where the margin s_ij - s_iy + 1 > 0 and j != y (the paper writes s_ij > 0), and minus their
 * count at y. NaN scores make the loss NaN.
 */
export function lossAndGradient(loss: LossName, S: NdArray, labels: ArrayLike<number>): { value: number; M: NdArray } {
  const [n, c] = S.shape;
  const s = S.data;
  const M = allocate(dtypeOf(s), n * c);
  let value = 0;
  for (let i = 0; i < n; i++) {
    const row = i * c,
      y = labels[i];
    if (loss === 'hinge') {
      for (let j = 0; j < c; j++) {
        const margin = s[row + j] - s[row + y] + 1;
        if (j !== y && margin > 0) {
          value += margin;
          M[row + j] = 1 / n;
          M[row + y] -= 1 / n;
        } else if (Number.isNaN(margin)) {
          // NOTE: `margin > 0` is false for NaN: a NaN score makes the loss and its row of M NaN.
          value = M[row + j] = M[row + y] = NaN;
        }
      }
    } else if (loss === 'ce') {
      let max = -Infinity;
      for (let j = 0; j < c; j++) max = Math.max(max, s[row + j]);
      let z = 0;
      for (let j = 0; j < c; j++) z += Math.exp(s[row + j] - max);
      for (let j = 0; j < c; j++) M[row + j] = Math.exp(s[row + j] - max) / z / n; // P / n
      M[row + y] -= 1 / n; //                                                        (P - Y) / n
      value -= s[row + y] - max - Math.log(z);
    } else {
      for (let j = 0; j < c; j++) {
        const diff = s[row + j] - (j === y ? 1 : 0);
        value += diff * diff;
        M[row + j] = (2 * diff) / n;
      }
    }
  }
  return { value: value / n, M: ndarray(M, [n, c]) };
}

function mapArray(a: NdArray, f: (x: number) => number): NdArray {
  const out = allocate(dtypeOf(a.data), a.size),
    x = a.data;
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
  return ndarray(out, a.shape.slice());
}
