import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { allocateF32 } from './kernels/memory.ts';

export type DType = 'float32' | 'float64';
export type Data = Float32Array | Float64Array;
export type NdArray = ndarray.NdArray<Data>;
export type Shape = readonly number[];

/** A nested array of numbers: a scalar, a vector, a matrix, ... */
export type Nested = number | Nested[];

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  name?: string;
}

export function dtypeOf(data: Data): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

/** `size` zeros: float32 in the WebAssembly kernels' memory when it is there (see kernels/memory.ts). */
export function allocate(dtype: DType, size: number): Data {
  return dtype === 'float64' ? new Float64Array(size) : allocateF32(size);
}

export const formatShape = (shape: Shape): string => `[${shape.join(',')}]`;

/**
 * An n-dimensional array of float32 (the default, for training) or float64 (for checking),
 * stored in an `ndarray` view, so transposes and slices are O(1) and share memory.
 *
 * A tensor knows nothing of tapes: `requiresGrad` marks it as a leaf whose gradient a tape
 * should compute, and a tape that records an op on it marks the op's output the same way.
 */
export class Tensor {
  readonly array: NdArray;
  requiresGrad: boolean;
  /** Set by `Tape.backward` on leaves that require a gradient; replaced, not accumulated, by each backward. */
  grad: Tensor | null = null;
  name: string | undefined;

  constructor(array: NdArray, options: { requiresGrad?: boolean; name?: string } = {}) {
    this.array = array;
    this.requiresGrad = options.requiresGrad ?? false;
    this.name = options.name;
  }

  get shape(): number[] {
    return this.array.shape;
  }
  get rank(): number {
    return this.array.shape.length;
  }
  get size(): number {
    return this.array.size;
  }
  get dtype(): DType {
    return dtypeOf(this.array.data);
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

/**
 * A contiguous row-major copy of an array (of any strides, broadcast views included) in the given
 * dtype. Matrices are copied by a plain loop (a memcpy when their rows are contiguous): ndarray-ops'
 * generic loop costs tens of microseconds a call even for a small matrix.
 */
export function contiguous(a: NdArray, dtype: DType): NdArray {
  const out = ndarray(allocate(dtype, a.size), a.shape.slice());
  const to = out.data, from = a.data;
  if (a.shape.length === 0) to[0] = from[a.offset];
  else if (a.shape.length === 2) {
    const [rows, cols] = a.shape, [s0, s1] = a.stride;
    if (s1 === 1 && s0 === cols && dtypeOf(from) === dtype) to.set(from.subarray(a.offset, a.offset + rows * cols));
    else for (let i = 0, k = 0; i < rows; i++) for (let j = 0, at = a.offset + i * s0; j < cols; j++, at += s1) to[k++] = from[at];
  } else if (a.size > 0) ops.assign(out, a); // ndarray-ops walks any strides
  return out;
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
    const data = wanted === dtypeOf(values) ? values : allocate(wanted, size).map((_, i) => values[i]);
    return new Tensor(ndarray(data, shape), options);
  }
  const shape = shapeOfNested(values);
  const flat = typeof values === 'number' ? [values] : ((values as unknown[]).flat(Infinity as 1) as number[]);
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== 'number') throw new Error(`tensor: element ${i} is ${typeof flat[i]}, not a number`);
  }
  const data = allocate(options.dtype ?? 'float32', flat.length);
  data.set(flat);
  return new Tensor(ndarray(data, shape), options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(ndarray(allocate(options.dtype ?? 'float32', size), [...shape]), options);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  const t = zeros(shape, options);
  t.array.data.fill(value);
  return t;
}
