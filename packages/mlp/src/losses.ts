/** The losses by name, as ops on the tape. Their hand-derived gradients live in hand.ts. */
import { Tensor, type Tape } from '@backprop/graph';

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

/**
 * The losses a run may train with: the three above on class labels, `mse` and `mae` on regression
 * targets, and `model`, the `loss` a model file exports.
 */
export type TrainLoss = LossName | 'mae' | 'model';
export const trainLossNames: TrainLoss[] = ['hinge', 'ce', 'mse', 'mae', 'model'];

/**
 * A model file's own loss: the batch's mean loss (a scalar) of the outputs S [n, outputs] against
 * the integer labels (classification) or the targets Y [n, outputs] (regression), on the tape.
 */
export type LossFunction = (t: Tape, outputs: Tensor, targets: Tensor | ArrayLike<number>) => Tensor;

/** What a batch holds besides its inputs: labels, or regression targets Y. */
export interface BatchTargets {
  y: ArrayLike<number>;
  Y?: Tensor;
}

/**
 * The mean loss of a batch's outputs S, recorded on the tape: the built-in losses by name, or
 * `own`, the model file's (for `model`). On regression targets, mse is the mean of (S - Y)^2 over
 * every value and mae that of |S - Y|; the class losses need labels.
 */
export function batchLoss(tape: Tape, name: TrainLoss, S: Tensor, batch: BatchTargets, own?: LossFunction): Tensor {
  if (name === 'model') {
    if (!own) throw new Error('--loss model: the network is not of a model file that exports loss(t, outputs, targets)');
    const l = own(tape, S, batch.Y ?? batch.y);
    if (!(l instanceof Tensor) || l.size !== 1)
      throw new Error(
        `the model file's loss returned ${l instanceof Tensor ? `a tensor of shape [${l.shape}]` : String(l)}, not a scalar tensor (the batch's mean loss)`,
      );
    return l;
  }
  if (batch.Y) {
    if (name === 'mse') return tape.mseLoss(S, batch.Y);
    if (name === 'mae') return tape.mean(tape.abs(tape.sub(S, batch.Y)));
    throw new Error(`--loss ${name} needs class labels, but the data has float targets (a regression set): use --loss mse or mae`);
  }
  if (name === 'mae') throw new Error('--loss mae is for float targets (a regression set), but the data has class labels: use hinge, ce or mse');
  return lossOnTape(tape, name, S, batch.y);
}
