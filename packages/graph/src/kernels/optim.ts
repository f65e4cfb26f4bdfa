/**
 * The optimisers' per-element updates (optim.ts holds the optimisers). Each writes w, and its
 * buffers, in place; every intermediate is a float64, and a float32 array rounds only where it is
 * stored, so the WebAssembly kernel computes the same bits as these loops.
 */
import type { Data } from './memory.ts';
import { wasmKernels } from './wasm.ts';

/** SGD with momentum in place: v = mu v + g, then w -= lr v (or, Nesterov, w -= lr (g + mu v)). */
export function momentumStep(w: Data, g: Data, v: Data, lr: number, mu: number, nesterov = false): void {
  if (nesterov) {
    for (let i = 0; i < w.length; i++) {
      v[i] = mu * v[i] + g[i];
      w[i] -= lr * (g[i] + mu * v[i]);
    }
    return;
  }
  for (let i = 0; i < w.length; i++) {
    v[i] = mu * v[i] + g[i];
    w[i] -= lr * v[i];
  }
}

/** What an Adam step needs besides the tensors: c1, c2 are the bias corrections 1 - beta^t; `decay` scales w first (AdamW's 1 - lr wd, else 1). */
export interface AdamHyper {
  lr: number;
  b1: number;
  b2: number;
  c1: number;
  c2: number;
  eps: number;
  decay: number;
}

/** One parameter's arrays for an Adam step: values, gradient, first and second moments, all of one length and dtype. */
export interface AdamSlot {
  w: Data;
  g: Data;
  m: Data;
  v: Data;
}

/**
 * Adam in place (Kingma and Ba 2015) on one parameter: w *= decay (AdamW's decoupled weight decay,
 * rounded to w's dtype), m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g², w -= lr (m / c1) / (sqrt(v / c2) + eps).
 */
export function adamStep({ w, g, m, v }: AdamSlot, { lr, b1, b2, c1, c2, eps, decay }: AdamHyper): void {
  for (let i = 0; i < w.length; i++) {
    if (decay !== 1) w[i] *= decay;
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
  }
}

/**
 * `adamStep` on every slot: one WebAssembly call over all of them (a multi-tensor apply, like
 * PyTorch's foreach Adam) when they are all float32 in the kernels' memory, else one loop each.
 * The same bits either way.
 */
export function adamSteps(slots: readonly AdamSlot[], h: AdamHyper): void {
  if (wasmKernels()?.adamSteps(slots, h)) return;
  for (const s of slots) adamStep(s, h);
}
