import ndarray from 'ndarray';
import { assignArray, contiguous, sameShape, type NdArray, type Shape } from './kernels/arrays.ts';
import { allocate, defaultMemory, dtypeOf, Scope, type Data, type DType, type Storage } from './kernels/memory.ts';

export type { Data, DType, NdArray, Shape };
export { allocate, contiguous, dtypeOf };

/** A nested array of numbers: a scalar, a vector, a matrix, ... */
export type Nested = number | Nested[];

/** How `tensor`, `zeros` and `full` make a tensor. */
export interface TensorOptions {
  /** 'float32' (the default, for training) or 'float64' (for checking). */
  dtype?: DType;
  /** A leaf whose gradient a tape computes (a parameter): owned by whoever holds it, never freed by a scope. */
  requiresGrad?: boolean;
  /** Shown in errors, `toString` and the tape's pictures. */
  name?: string;
}

/** A shape as the errors print it: `[8,784]`. */
export const formatShape = (shape: Shape): string => `[${shape.join(',')}]`;

/**
 * The version counter of a tensor's values, kept on the storage of its memory (or, for a user's own
 * typed array, on the array), so that every view of the same memory (a transpose, a reshape,
 * `detach()`) shares it, as PyTorch's views share theirs. Not on kernels' arrays: a property added
 * to a typed array changes its hidden class, and the kernels' loops would then see two.
 */
const VERSION = Symbol('version');
type Versioned = { [VERSION]?: number };

/**
 * An n-dimensional array of float32 (the default, for training) or float64 (for checking),
 * stored in an `ndarray` view, so transposes and slices are O(1) and share memory.
 *
 * A tensor knows nothing of tapes: `requiresGrad` marks it as a leaf whose gradient a tape
 * should compute, and a tape that records an op on it marks the op's output the same way.
 */
export class Tensor {
  readonly #array: NdArray;
  /** Its memory's owner and state; undefined for a user's own typed array (the user owns it). */
  readonly #storage: Storage | undefined;
  #grad: Tensor | null = null;
  /** Whether a tape computes this tensor's gradient: set on leaves (parameters), and by a tape on what it records from them. */
  requiresGrad: boolean;
  /** Shown in errors, `toString` and the tape's pictures. */
  name: string | undefined;
  /** What made it (an op's name, `tensor`, `zeros`, ...), for the error a use after release throws. */
  madeBy: string;

  constructor(array: NdArray, options: { requiresGrad?: boolean; name?: string; madeBy?: string } = {}) {
    this.#array = array;
    const memory = defaultMemory();
    this.#storage = memory.storageOf(array.data);
    if (!this.#storage && memory.holds(array.data)) {
      throw new Error(
        "Tensor: the array is part of a block of the kernels' memory (a subarray of a tensor's data?), whose owner could free it; pass the whole array, or copy the part with .slice()",
      );
    }
    // A parameter is its holder's, wherever it was made (a network built inside a scope lives on).
    if (options.requiresGrad && this.#storage && this.#storage.owner instanceof Scope) memory.own(this.#storage, array.data);
    this.requiresGrad = options.requiresGrad ?? false;
    this.name = options.name;
    this.madeBy = options.madeBy ?? 'new Tensor';
  }

  // Shape and dtype are the tensor's own, readable after its memory is released; values are not.

  /** The values as an ndarray (a view: transposes and slices share memory). Throws once the memory was released. */
  get array(): NdArray {
    if (this.#storage?.released) throw this.usedAfterRelease();
    return this.#array;
  }

  /** True once the memory under this tensor was released (its scope ended, or it was a replaced gradient). */
  get released(): boolean {
    return !!this.#storage?.released;
  }

  /**
   * dl/dx, set by `Tape.backward` on leaves that require a gradient (replaced by each backward,
   * or accumulated with { accumulate: true }). A parameter holds its gradient's memory until the
   * gradient is replaced, so it outlives the scope of the step that computed it.
   */
  get grad(): Tensor | null {
    if (this.#storage?.released) throw this.usedAfterRelease();
    return this.#grad;
  }
  set grad(g: Tensor | null) {
    const old = this.#grad,
      memory = defaultMemory();
    // not g.array: a row-sparse gradient (rowsparse.ts) stays unwritten outside its rows until it is read
    if (g && g.#storage?.released) throw g.usedAfterRelease();
    if (g && g.#storage) memory.pin(g.#storage, g.#array.data);
    this.#grad = g;
    if (old && old.#storage) memory.unpin(old.#storage);
  }

  /** @internal: used by `tidy` and `keep` to move this tensor's memory out of `scope`. */
  keepIn(scope: Scope): void {
    if (this.#storage) scope.keep(this.#storage, this.#array.data);
  }

  /** Frees this tensor's memory now, for a tensor owned by the objects that reference it (a scope frees its own). */
  dispose(): void {
    if (this.#storage) defaultMemory().dispose(this.#storage);
  }

  private usedAfterRelease(): Error {
    const what = `${formatShape(this.#array.shape)} ${dtypeOf(this.#array.data)} tensor${this.name ? ` '${this.name}'` : ''} made by ${this.madeBy}`;
    const storage = this.#storage!;
    if (storage.released === 'dispose') return new Error(`Tensor used after its memory was released: the ${what} was disposed`);
    if (storage.wasGrad) {
      return new Error(
        `Tensor used after its scope ended: the ${what} was a parameter's gradient, replaced by a later backward and freed with the scope it was replaced in; .clone() a gradient to keep it`,
      );
    }
    return new Error(
      `Tensor used after its scope ended: the ${what} was freed with the tidy scope it was made in; return it from the scope, keep() it, or make it outside`,
    );
  }

  /**
   * How many times its values were written in place through the API (`update`, `assign`, an
   * optimiser's step), counted on its memory, so shared by every view of it. A tape record saves the
   * versions of the tensors its backward reads, and backward refuses to run it on a changed one.
   */
  get version(): number {
    return ((this.#storage ?? this.#array.data) as Versioned)[VERSION] ?? 0;
  }

  /**
   * Writes this tensor's values in place: runs `fn` on its ndarray (for a contiguous tensor,
   * `array.data` holds the values in row-major order), then bumps its version, so that a tape that
   * saved it for backward reports the change instead of using the new values. The safe way to edit
   * a parameter in place: a raw write into `.array.data` is invisible to the version counter.
   */
  update(fn: (array: NdArray) => void): this {
    const array = this.array;
    try {
      fn(array);
    } finally {
      const holder = (this.#storage ?? array.data) as Versioned;
      holder[VERSION] = (holder[VERSION] ?? 0) + 1;
    }
    return this;
  }

  /** Copies `values` (a tensor or nested arrays of this shape) into this tensor in place, bumping its version (see `update`). */
  assign(values: Tensor | Nested): this {
    const from = values instanceof Tensor ? values : tensor(values, { dtype: this.dtype });
    if (!sameShape(from.shape, this.shape)) {
      throw new Error(
        `assign: the values have shape ${formatShape(from.shape)} but the tensor${this.name ? ` '${this.name}'` : ''} has shape ${formatShape(this.shape)}`,
      );
    }
    return this.update((a) => assignArray(a, from.array));
  }

  /** The length along each axis. */
  get shape(): number[] {
    return this.#array.shape;
  }
  /** The number of axes (0 for a scalar). */
  get rank(): number {
    return this.#array.shape.length;
  }
  /** The number of elements. */
  get size(): number {
    return this.#array.size;
  }
  /** 'float32' or 'float64'. */
  get dtype(): DType {
    return dtypeOf(this.#array.data);
  }

  /**
   * The transpose (axes reversed) as an O(1) view sharing memory, for constants. A tensor that
   * requires a gradient is transposed with `tape.transpose(x)`, so that the gradient flows back.
   */
  get T(): Tensor {
    if (this.requiresGrad) {
      throw new Error('T: this tensor requires a gradient, which a plain view would drop; use tape.transpose(x)');
    }
    const axes = this.shape.map((_, i) => this.rank - 1 - i);
    return new Tensor(this.array.transpose(...axes));
  }

  /** The element at an index (all of its coordinates). */
  get(...index: number[]): number {
    if (index.length !== this.rank) {
      throw new Error(`get: index ${formatShape(index)} has ${index.length} coordinates but the tensor has shape ${formatShape(this.shape)}`);
    }
    return this.array.get(...index);
  }

  /** The single value of a tensor with one element (a 0-D loss, say). */
  item(): number {
    if (this.size !== 1) throw new Error(`item: the tensor has shape ${formatShape(this.shape)}, not one element`);
    return this.array.data[this.array.offset];
  }

  /** A contiguous copy, with the same dtype unless another is given. */
  clone(dtype: DType = this.dtype): Tensor {
    return new Tensor(contiguous(this.array, dtype));
  }

  /** The same values, cut from any tape: a new leaf that does not require a gradient. */
  detach(): Tensor {
    return new Tensor(this.array);
  }

  /** The values in row-major order, as a plain array. */
  toFlatArray(): number[] {
    return Array.from(contiguous(this.array, this.dtype).data);
  }

  /** The values' bytes in row-major order (a copy): for comparing bits. */
  bytes(): Uint8Array {
    const data = contiguous(this.array, this.dtype).data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }

  /** The values as nested arrays (a number for a 0-D tensor). */
  toArray(): Nested {
    const flat = this.toFlatArray();
    const build = (dim: number, offset: number): Nested => {
      if (dim === this.rank) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** `Tensor([2] float32, requiresGrad) [1.0, 2.5]`: shape, dtype and values (of an axis longer than 8, the first and last 3). */
  toString(): string {
    const body = formatNested(this.toArray(), 0);
    const grad = this.requiresGrad ? ', requiresGrad' : '';
    return `Tensor(${formatShape(this.shape)} ${this.dtype}${grad}) ${body}`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function formatNested(value: Nested, depth: number): string {
  if (typeof value === 'number') return formatNumber(value);
  const maxItems = 8;
  const shown = value.length > maxItems ? [...value.slice(0, 3), null, ...value.slice(-3)] : value;
  const parts = shown.map((v) => (v === null ? '...' : formatNested(v, depth + 1)));
  const nested = value.length > 0 && Array.isArray(value[0]);
  return nested ? `[${parts.join(',\n' + ' '.repeat(depth + 1))}]` : `[${parts.join(', ')}]`;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : x.toPrecision(5).replace(/(\.\d*?)0+(e|$)/, '$1$2');
}

function shapeOfNested(value: Nested, where = 'tensor'): number[] {
  if (typeof value === 'number') return [];
  if (value.length === 0) return [0];
  const inner = shapeOfNested(value[0], where);
  for (let i = 1; i < value.length; i++) {
    const s = shapeOfNested(value[i], where);
    if (s.join() !== inner.join()) {
      throw new Error(`${where}: ragged nested array: row 0 has shape ${formatShape(inner)} but row ${i} has ${formatShape(s)}`);
    }
  }
  return [value.length, ...inner];
}

/**
 * A tensor from nested arrays (`tensor([[1, 2], [3, 4]])`), a number (0-D), or a typed
 * array with a shape (`tensor(data, { shape: [8, 784] })`, which shares the typed array).
 */
export function tensor(values: Nested | Data, options: TensorOptions & { shape?: Shape } = {}): Tensor {
  if (values instanceof Float32Array || values instanceof Float64Array) {
    const shape = options.shape ? [...options.shape] : [values.length];
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== values.length) {
      throw new Error(`tensor: ${values.length} values do not fill shape ${formatShape(shape)} (${size} needed)`);
    }
    const wanted = options.dtype ?? dtypeOf(values);
    if (wanted === dtypeOf(values)) return new Tensor(ndarray(values, shape), { madeBy: 'tensor', ...options });
    const data = allocate(wanted, size, lifetimeOf(options));
    data.set(values);
    return new Tensor(ndarray(data, shape), { madeBy: 'tensor', ...options });
  }
  const shape = shapeOfNested(values);
  const flat = typeof values === 'number' ? [values] : ((values as unknown[]).flat(Infinity as 1) as number[]);
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== 'number') throw new Error(`tensor: element ${i} is ${typeof flat[i]}, not a number`);
  }
  const data = allocate(options.dtype ?? 'float32', flat.length, lifetimeOf(options));
  data.set(flat);
  return new Tensor(ndarray(data, shape), { madeBy: 'tensor', ...options });
}

/** Parameters (tensors that require a gradient) are owned by whoever holds them, never by a scope. */
export const lifetimeOf = (options: TensorOptions): 'scope' | 'owned' => (options.requiresGrad ? 'owned' : 'scope');

/** A tensor of zeros of the given shape. */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(ndarray(allocate(options.dtype ?? 'float32', size, lifetimeOf(options)), [...shape]), { madeBy: 'zeros', ...options });
}

/** A tensor of the given shape with every element `value`. */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  const t = zeros(shape, options);
  t.array.data.fill(value);
  return t;
}
