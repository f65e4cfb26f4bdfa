/** The losses by name, as ops on the tape. Their hand-derived gradients live in hand.ts. */
import type { Tape, Tensor } from '@backprop/graph';

export type LossName = 'hinge' | 'ce' | 'mse';
export const lossNames: LossName[] = ['hinge', 'ce', 'mse'];

/** A one-hot [n, classes] matrix of the labels: the target of the squared error. */
export function oneHot(labels: ArrayLike<number>, classes: number, like: Tensor): Tensor {
  const t = like.clone();
  const d = t.array.data;
  d.fill(0);
  for (let i = 0; i < labels.length; i++) d[i * classes + labels[i]] = 1;
  return t;
}

/** The mean loss of scores S [n, classes] against integer labels, recorded on the tape. */
export function lossOnTape(tape: Tape, name: LossName, S: Tensor, labels: ArrayLike<number>): Tensor {
  switch (name) {
    case 'hinge':
      return tape.hingeLoss(S, labels);
    case 'ce':
      return tape.crossEntropy(S, labels);
    case 'mse':
      return tape.squaredError(S, oneHot(labels, S.shape[1], S));
  }
}
