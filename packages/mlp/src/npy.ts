/**
 * NumPy's .npy arrays and .npz archives of them, as NumPy documents the format
 * (numpy.lib.format): the magic \x93NUMPY, a version, a header that is a Python dict literal
 * { 'descr', 'fortran_order', 'shape' }, then the data. Numbers only: an object array is a pickle,
 * which is never unpickled (unpickling runs code), and structured dtypes are refused.
 * Every error is one line naming the file and the array.
 */
import { unzipSync } from 'fflate';

export interface NpyArray {
  /** NumPy's dtype string as written: '<f4', '|u1', '>i8', ... */
  descr: string;
  /** 'f' float, 'i' signed integer, 'u' unsigned integer, 'b' boolean. */
  kind: 'f' | 'i' | 'u' | 'b';
  shape: number[];
  /** The values in C order: the bytes themselves for '|u1', otherwise every value as a double. */
  data: Uint8Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const SIZES: Record<string, number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };

/** A half-precision float (IEEE 754 binary16) from its bits. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1,
    exponent = (bits >> 10) & 0x1f,
    fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The header's dict: descr, fortran_order and shape, each checked. */
function parseHeader(text: string, fail: (what: string) => never): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (/['"]descr['"]\s*:\s*\[/.test(text)) fail('a structured dtype (fields); save a plain numeric array');
  if (!descr || !fortran || !shape) fail(`its header is not a NumPy header ({'descr', 'fortran_order', 'shape'}): ${text.trim().slice(0, 80)}`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!dims.every((d) => /^\d+L?$/.test(d))) fail(`its header's shape (${shape[1]}) is not a list of sizes`);
  return { descr: descr[2], fortran: fortran[1] === 'True', shape: dims.map((d) => Number.parseInt(d, 10)) };
}

/** The C-order index of each element stored in Fortran order (the first axis varies fastest). */
function fortranToC(values: Float64Array | Uint8Array, shape: number[]): Float64Array | Uint8Array {
  const out = new (values.constructor as Float64ArrayConstructor | Uint8ArrayConstructor)(values.length);
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1)); // C strides
  const index = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < values.length; f++) {
    let c = 0;
    for (let k = 0; k < shape.length; k++) c += index[k] * strides[k];
    out[c] = values[f];
    for (let k = 0; k < shape.length && ++index[k] === shape[k]; k++) index[k] = 0;
  }
  return out;
}

/** Reads one .npy array from its bytes; `where` names it in errors ("data.npz: x_train"). */
export function parseNpy(bytes: Uint8Array, where: string): NpyArray {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a NumPy .npy array (its first bytes are not \\x93NUMPY)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`.npy format version ${major}.${bytes[7]} is not one NumPy writes (1.0, 2.0, 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('truncated in its header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes + headerLength;
  if (bytes.length < start) fail(`truncated in its header (${bytes.length} bytes, the header ends at ${start})`);
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, start)), fail);
  const { descr, shape } = header;
  if (/^[<>|=]?O/.test(descr))
    fail(`an object array (dtype ${descr}) is a Python pickle, which is never unpickled (it can run code); save numbers (e.g. x.astype('float32'))`);
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  if (!m || !SIZES[m[2]].includes(Number(m[3]))) fail(`dtype ${descr} is not a number type this reads (float16/32/64, int8-64, uint8-64, bool)`);
  const [, order, kind, sizeText] = m!,
    size = Number(sizeText);
  const little = order !== '>'; // '|' (single bytes) and '=' (native: little on every machine NumPy writes .npz on for us) read as little
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - start < count * size)
    fail(`truncated: its shape (${shape.join(', ')}) of ${descr} needs ${count * size} bytes of data, the file has ${bytes.length - start}`);
  const at = (i: number) => start + i * size;
  let data: Float64Array | Uint8Array;
  if (kind === 'u' && size === 1) data = bytes.slice(start, start + count);
  else {
    data = new Float64Array(count);
    const read: (i: number) => number =
      kind === 'f'
        ? size === 2
          ? (i) => half(view.getUint16(at(i), little))
          : size === 4
            ? (i) => view.getFloat32(at(i), little)
            : (i) => view.getFloat64(at(i), little)
        : kind === 'b'
          ? (i) => (bytes[at(i)] ? 1 : 0)
          : size === 1
            ? kind === 'i'
              ? (i) => view.getInt8(at(i))
              : (i) => view.getUint8(at(i))
            : size === 2
              ? kind === 'i'
                ? (i) => view.getInt16(at(i), little)
                : (i) => view.getUint16(at(i), little)
              : size === 4
                ? kind === 'i'
                  ? (i) => view.getInt32(at(i), little)
                  : (i) => view.getUint32(at(i), little)
                : (i) => {
                    const v = kind === 'i' ? view.getBigInt64(at(i), little) : view.getBigUint64(at(i), little);
                    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
                      fail(`value ${v} at index ${i} is beyond 2^53, past which a double is not exact`);
                    return Number(v);
                  };
    for (let i = 0; i < count; i++) data[i] = read(i);
  }
  return { descr, kind: kind as NpyArray['kind'], shape, data: header.fortran && shape.length > 1 ? fortranToC(data, shape) : data };
}

/**
 * The arrays of an .npz archive (stored or deflated, as np.savez and np.savez_compressed write
 * it), by name without '.npy'. Only the names in `wanted` are read, when given.
 */
export function parseNpz(bytes: Uint8Array, path: string, wanted?: string[]): Map<string, NpyArray> {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) throw new Error(`${path}: not a NumPy .npz archive (a zip file starts with PK)`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => wanted === undefined || wanted.includes(f.name.replace(/\.npy$/, '')) });
  } catch (e) {
    throw new Error(`${path}: not a readable .npz archive (${(e as Error).message}); is it truncated?`);
  }
  const arrays = new Map<string, NpyArray>();
  for (const [name, content] of Object.entries(files)) {
    const key = name.replace(/\.npy$/, '');
    arrays.set(key, parseNpy(content, `${path}: ${key}`));
  }
  return arrays;
}
