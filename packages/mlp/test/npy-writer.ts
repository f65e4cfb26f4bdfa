/** .npy and .npz files built in tests, as NumPy's format documents them (version 1.0), with no Python. */
import { zipSync } from 'fflate';

/** An .npy file of `values` (C order) as `descr` ('<f4', '>f8', '|u1', '<i8', ...) and `shape`. */
export function npy(descr: string, shape: number[], values: ArrayLike<number>, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const size = Number(descr.slice(2)),
    little = descr[0] !== '>',
    kind = descr[1];
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer),
    start = 10 + header.length;
  for (let i = 0; i < values.length; i++) {
    const at = start + i * size,
      v = values[i];
    if (kind === 'f') size === 4 ? view.setFloat32(at, v, little) : view.setFloat64(at, v, little);
    else if (size === 1) kind === 'u' ? view.setUint8(at, v) : view.setInt8(at, v);
    else if (size === 2) view.setInt16(at, v, little);
    else if (size === 4) view.setInt32(at, v, little);
    else view.setBigInt64(at, BigInt(v), little);
  }
  return out;
}

/** An .npz archive of named .npy files, stored (np.savez) or deflated (np.savez_compressed). */
export function npz(arrays: Record<string, Uint8Array>, compressed = false): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([name, bytes]) => [`${name}.npy`, bytes])), { level: compressed ? 6 : 0 });
}
