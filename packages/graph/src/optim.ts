/**
 * Optimisers, as torch.optim has them: `new Adam(model.parameters(), { lr: 1e-3 })`, then after
 * each backward `opt.step()`; `opt.lr` is the rate of the next step (a schedule sets it). Each step
 * writes the parameters through `Tensor.update`, so a tape that saved one for backward reports the
 * change (version counters) instead of using the new values.
 */
import ndarray from 'ndarray';
import { addScaledRows } from './rowsparse.ts';
import { allocate, type Data, type Tensor } from './tensor.ts';
import * as kernels from './kernels/index.ts';

export interface Optimizer {
  /** The learning rate of the next step (a schedule sets it before each step). */
  lr: number;
  /** The parameters it updates, in the order given. */
  readonly params: readonly Tensor[];
  /** One update of every parameter from its `.grad`. */
  step(): void;
  /** Drops every parameter's gradient (`p.grad = null`, torch's set_to_none), freeing its memory. */
  zeroGrad(): void;
  /** The buffers an exact resume needs (live: a checkpoint reads them; empty for plain SGD). */
  state(): Data[];
  /** Copies buffers that `state()` gave (of this optimiser over the same parameter shapes) back in. */
  loadState(buffers: readonly ArrayLike<number>[]): void;
}

/** What every optimiser takes. */
export interface OptimizerOptions {
  lr: number;
  /** L2 weight decay: wd * w is added to the gradient before the update (torch's `weight_decay`; AdamW decouples it). Default 0. */
  weightDecay?: number;
  /** Which parameters weight decay applies to (default every one, as in torch.optim; `p => p.shape.length > 1` exempts biases). */
  decays?: (p: Tensor) => boolean;
  /** Clip by global norm first (`clipGradNorm`): when the norm of all gradients as one vector exceeds this, they are scaled down to it. */
  clipNorm?: number;
}

export interface SGDOptions extends OptimizerOptions {
  /** Momentum coefficient mu (default 0: plain SGD): v = mu v + g, w -= lr v. */
  momentum?: number;
  /** Nesterov momentum: w -= lr (g + mu v). */
  nesterov?: boolean;
}

export interface AdamOptions extends OptimizerOptions {
  /** beta1, beta2 (default 0.9, 0.999). */
  betas?: readonly [number, number];
  /** Added to sqrt(v) (default 1e-8). */
  eps?: number;
}

/** Shared checks and the gradients of a step. */
abstract class Base implements Optimizer {
  lr: number;
  readonly params: readonly Tensor[];
  protected readonly options: OptimizerOptions;
  constructor(
    private readonly kind: string,
    params: Iterable<Tensor>,
    options: OptimizerOptions,
  ) {
    this.params = [...params];
    if (typeof options !== 'object' || options === null) throw new Error(`${kind}: the options are ${options}; pass the learning rate, or { lr, ... }`);
    if (this.params.length === 0) throw new Error(`${kind}: the parameter list is empty: pass model.parameters() (tensors made with { requiresGrad: true })`);
    const seen = new Set<Tensor>();
    for (const p of this.params) {
      if (!p.requiresGrad)
        throw new Error(`${kind}: parameter ${describe(p)} does not require a gradient: make it with { requiresGrad: true }, or leave it out`);
      if (seen.has(p)) throw new Error(`${kind}: parameter ${describe(p)} is listed twice: each parameter once`);
      seen.add(p);
    }
    this.lr = checkRate(kind, options.lr);
    check(kind, 'weightDecay', options.weightDecay ?? 0, (x) => x >= 0, 'a number >= 0');
    if (options.clipNorm !== undefined) check(kind, 'clipNorm', options.clipNorm, (x) => x > 0, 'a number > 0');
    this.options = options;
  }

  abstract step(): void;
  abstract state(): Data[];

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  loadState(buffers: readonly ArrayLike<number>[]): void {
    const own = this.state();
    if (buffers.length !== own.length) throw new Error(`${this.kind}.loadState: ${buffers.length} buffers for ${own.length}: the state of another optimiser?`);
    own.forEach((b, i) => {
      if (buffers[i].length !== b.length)
        throw new Error(`${this.kind}.loadState: buffer ${i} has ${buffers[i].length} values, not ${b.length}: the state of other parameters?`);
    });
    own.forEach((b, i) => b.set(buffers[i]));
  }

  /**
   * The gradients of this step, in the parameters' (contiguous) layout, in PyTorch's order: clipped
   * by global norm, then wd w added (L2) where `l2`. Both change the gradients in place (bumping
   * their versions); with neither, they are the gradients as they are.
   */
  protected gradients(l2: boolean): Data[] {
    checkRate(this.kind, this.lr);
    const { clipNorm, weightDecay, decays } = this.options;
    const grads = this.params.map(gradOf);
    if (clipNorm !== undefined) clip(this.params, grads, clipNorm);
    if (l2 && weightDecay) {
      this.params.forEach((p, k) => (decays?.(p) ?? true) && gradientOf(p).update(() => kernels.addScaled(grads[k], p.array.data, weightDecay)));
    }
    return grads;
  }
}

/** Stochastic gradient descent, with optional (Nesterov) momentum: torch.optim.SGD without dampening. */
export class SGD extends Base {
  private readonly velocity: Data[];
  private readonly momentum: number;
  private readonly nesterov: boolean;
  /** `lr` alone, or the options (torch's `SGD(params, lr)` and `SGD(params, lr=..., momentum=...)`). */
  constructor(params: Iterable<Tensor>, options: SGDOptions | number) {
    options = typeof options === 'number' ? { lr: options } : options;
    super('SGD', params, options);
    this.momentum = check('SGD', 'momentum', options.momentum ?? 0, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new Error('SGD: nesterov needs a momentum > 0');
    this.velocity = this.momentum ? this.params.map((p) => allocate(p.dtype, p.size, 'owned')) : [];
  }
  step(): void {
    const { clipNorm, weightDecay } = this.options;
    if (!this.momentum && clipNorm === undefined && !weightDecay) {
      // A row-sparse gradient (the first layer's, with sparse inputs) updates only its rows, with
      // the bits of the dense update; clipping and decay touch every row, so they take the dense path.
      checkRate('SGD', this.lr);
      const grads = this.params.map(gradientOf); // every gradient is there before any parameter moves
      this.params.forEach((p, k) => addScaledRows(p, grads[k], -this.lr) || p.update((w) => kernels.addScaled(w.data, kernels.flat(grads[k].array), -this.lr)));
      return;
    }
    const g = this.gradients(true);
    if (!this.momentum) this.params.forEach((p, k) => p.update((w) => kernels.addScaled(w.data, g[k], -this.lr)));
    else this.params.forEach((p, k) => p.update((w) => kernels.momentumStep(w.data, g[k], this.velocity[k], this.lr, this.momentum, this.nesterov)));
  }
  state(): Data[] {
    return this.velocity;
  }
}

/** Adam (Kingma and Ba 2015) with bias correction; `weightDecay` is L2 (added to the gradient), as in torch.optim.Adam. */
export class Adam extends Base {
  private readonly m: Data[];
  private readonly v: Data[];
  private readonly t = new Float64Array(1);
  private readonly betas: readonly [number, number];
  private readonly eps: number;
  /** `lr` alone, or the options. */
  constructor(params: Iterable<Tensor>, options: AdamOptions | number, kind = 'Adam') {
    options = typeof options === 'number' ? { lr: options } : options;
    super(kind, params, options);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    const beta = (x: number) => x >= 0 && x < 1;
    this.betas = [check(kind, 'betas[0]', b1, beta, 'a number in [0, 1)'), check(kind, 'betas[1]', b2, beta, 'a number in [0, 1)')];
    this.eps = check(kind, 'eps', options.eps ?? 1e-8, (x) => x >= 0, 'a number >= 0');
    this.m = this.params.map((p) => allocate(p.dtype, p.size, 'owned'));
    this.v = this.params.map((p) => allocate(p.dtype, p.size, 'owned'));
  }
  /** The steps taken so far (t of the bias corrections). */
  get steps(): number {
    return this.t[0];
  }
  step(): void {
    this.update(this.gradients(true), 1);
  }
  /** One Adam update of every parameter (in one kernel call), w scaled by `decay` first. */
  protected update(g: Data[], decay: number): void {
    const [b1, b2] = this.betas;
    const t = ++this.t[0];
    const h = { lr: this.lr, b1, b2, c1: 1 - b1 ** t, c2: 1 - b2 ** t, eps: this.eps, decay };
    const slots = this.params.map((p, k) => ({ w: p.array.data, g: g[k], m: this.m[k], v: this.v[k] }));
    updateAll(this.params, () => kernels.adamSteps(slots, h));
  }
  state(): Data[] {
    return [...this.m, ...this.v, this.t];
  }
}

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019), as torch.optim.AdamW: w is scaled
 * by 1 - lr wd before Adam's update instead of wd w joining the gradient. `weightDecay` defaults to 0.01.
 */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions | number) {
    options = typeof options === 'number' ? { lr: options } : options;
    super(params, { ...options, weightDecay: options?.weightDecay ?? 0.01 }, 'AdamW');
  }
  override step(): void {
    const { weightDecay = 0.01, decays } = this.options;
    const g = this.gradients(false);
    const all = !decays || this.params.every(decays);
    if (all) return this.update(g, 1 - this.lr * weightDecay);
    // Some parameters are exempt: scale the others first (rounded as the fused step rounds them).
    updateAll(
      this.params.filter((p) => decays(p)),
      () => this.params.forEach((p) => decays(p) && kernels.scaleInPlace(p.array.data, 1 - this.lr * weightDecay)),
    );
    this.update(g, 1);
  }
}

/** Scales every gradient of `params` by maxNorm / (norm + 1e-6) when their global L2 norm exceeds maxNorm (torch's clip_grad_norm_); returns the norm before. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  check('clipGradNorm', 'maxNorm', maxNorm, (x) => x > 0, 'a number > 0');
  return clip(params, params.map(gradOf), maxNorm);
}

/** `clipGradNorm` on `grads`, the flat values of the parameters' gradients (written back into a strided gradient). */
function clip(params: readonly Tensor[], grads: Data[], maxNorm: number): number {
  const norm = Math.sqrt(grads.reduce((s, g) => s + kernels.sumOfSquares(g), 0));
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) {
    params.forEach((p, k) =>
      gradientOf(p).update((a) => {
        kernels.scaleInPlace(grads[k], scale);
        if (grads[k] !== a.data) kernels.assignArray(a, ndarray(grads[k], a.shape.slice()));
      }),
    );
  }
  return norm;
}

/** The L2 norm of all the gradients of `params` taken as one vector. */
export function globalGradNorm(params: readonly Tensor[]): number {
  return Math.sqrt(params.reduce((s, p) => s + kernels.sumOfSquares(gradOf(p)), 0));
}

/** Runs `fn`, which writes all of `params` at once, inside each one's `update` (so each version is bumped, even if fn throws). */
function updateAll(params: readonly Tensor[], fn: () => void): void {
  params.reduce<() => void>((inner, p) => () => void p.update(inner), fn)();
}

function gradOf(p: Tensor): Data {
  return kernels.flat(gradientOf(p).array); // the gradient in the parameter's (contiguous) layout, copied only if strided
}

/** `p.grad`, or an error saying how to get one. */
function gradientOf(p: Tensor): Tensor {
  if (!p.grad) throw new Error(`optimizer: parameter ${describe(p)} has no gradient: the loss does not depend on it, or tape.backward(loss) was not run`);
  return p.grad;
}

const describe = (p: Tensor) => (p.name ? `'${p.name}' [${p.shape}]` : `[${p.shape}]`);

function checkRate(kind: string, lr: number): number {
  return check(kind, 'lr', lr, (x) => x >= 0, 'a number >= 0');
}

function check(kind: string, name: string, x: number, ok: (x: number) => boolean, want: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw new Error(`${kind}: ${name} is ${x}; it must be ${want}`);
  return x;
}
