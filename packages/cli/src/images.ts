/** Reading a digit image (PNG or PGM) as 28x28 pixels in [0, 1], white on black like MNIST. */
import { PNG } from 'pngjs';
import { readUserFile } from '@backprop/mlp/files';

export interface Gray {
  width: number;
  height: number;
  /** Row-major values in [0, 1]. */
  pixels: Float64Array;
}

/** The largest image read (4096x4096): a digit needs far fewer, and a header can claim any size. */
export const MAX_PIXELS = 4096 * 4096;

/** Refuses, before anything is allocated, an image of no pixels or of more than MAX_PIXELS. */
function checkSize(width: number, height: number, where: string): void {
  if (width === 0 || height === 0) throw new Error(`${where}: the image is ${width}x${height}: it has no pixels`);
  if (width * height > MAX_PIXELS) {
    throw new Error(`${where}: the image is ${width}x${height}, too large (more than ${MAX_PIXELS} pixels); scale it down to about 28x28`);
  }
}

/** Binary (P5) or plain (P2) PGM. */
export function parsePgm(bytes: Buffer, where: string): Gray {
  const magic = bytes.subarray(0, 2).toString('latin1');
  if (magic !== 'P5' && magic !== 'P2') throw new Error(`${where}: not a PGM image (magic ${JSON.stringify(magic)}, expected P5 or P2)`);
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3) {
    while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]))) i++;
    if (bytes[i] === 0x23) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
      continue;
    } // # comment
    const start = i;
    while (i < bytes.length && /\d/.test(String.fromCharCode(bytes[i]))) i++;
    if (start === i) throw new Error(`${where}: malformed PGM header`);
    fields.push(Number(bytes.subarray(start, i).toString('latin1')));
  }
  const [width, height, max] = fields;
  checkSize(width, height, where);
  if (max < 1 || max > 65535) throw new Error(`${where}: PGM maximum value ${max} is not in 1-65535`);
  const n = width * height;
  const pixels = new Float64Array(n);
  // A sample above the maximum its header declares is a damaged file, not a brighter pixel.
  const sample = (k: number, v: number) => {
    if (!(Number.isInteger(v) && v >= 0 && v <= max)) {
      throw new Error(
        `${where}: pixel ${k} (row ${Math.floor(k / width)}, column ${k % width}) is ${v}, outside 0-${max}, the range its header declares; the file is damaged (write it again)`,
      );
    }
    pixels[k] = v / max;
  };
  if (magic === 'P5') {
    const data = bytes.subarray(i + 1);
    const wide = max > 255;
    if (data.length < n * (wide ? 2 : 1))
      throw new Error(`${where}: truncated PGM: ${width}x${height} needs ${n * (wide ? 2 : 1)} bytes of pixels, found ${data.length}`);
    for (let k = 0; k < n; k++) sample(k, wide ? data.readUInt16BE(2 * k) : data[k]);
  } else {
    const values = bytes.subarray(i).toString('latin1').trim().split(/\s+/).map(Number);
    if (values.length < n || values.some((v) => !Number.isFinite(v)))
      throw new Error(`${where}: truncated or malformed PGM: ${width}x${height} needs ${n} values`);
    for (let k = 0; k < n; k++) sample(k, values[k]);
  }
  return { width, height, pixels };
}

export function parsePng(bytes: Buffer, where: string): Gray {
  // The size from the IHDR chunk, which comes first, before pngjs allocates the pixels.
  if (bytes.length >= 24) checkSize(bytes.readUInt32BE(16), bytes.readUInt32BE(20), where);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new Error(`${where}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const pixels = new Float64Array(width * height);
  for (let k = 0; k < width * height; k++) {
    const [r, g, b, a] = [data[4 * k], data[4 * k + 1], data[4 * k + 2], data[4 * k + 3] / 255];
    // Luminance, composited over white where transparent.
    pixels[k] = (a * (0.299 * r + 0.587 * g + 0.114 * b) + (1 - a) * 255) / 255;
  }
  return { width, height, pixels };
}

/** Box-filter resize to size x size. */
function resize(img: Gray, size: number): Float64Array {
  if (img.width === size && img.height === size) return img.pixels;
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const x0 = Math.floor((x * img.width) / size),
        x1 = Math.max(x0 + 1, Math.floor(((x + 1) * img.width) / size));
      const y0 = Math.floor((y * img.height) / size),
        y1 = Math.max(y0 + 1, Math.floor(((y + 1) * img.height) / size));
      let s = 0;
      for (let v = y0; v < y1; v++) for (let u = x0; u < x1; u++) s += img.pixels[v * img.width + u];
      out[y * size + x] = s / ((x1 - x0) * (y1 - y0));
    }
  }
  return out;
}

/** The image as MNIST sees digits: `size` x `size`, light strokes on a dark background. */
export function readDigit(path: string, size = 28): { pixels: Float64Array; inverted: boolean; resized: boolean } {
  const bytes = readUserFile(path, { limit: 256 * 2 ** 20, what: 'an image of a digit' });
  const img = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ? parsePng(bytes, path) : parsePgm(bytes, path);
  const pixels = resize(img, size);
  // MNIST digits are white on black; a dark digit on light paper is inverted.
  let border = 0,
    count = 0;
  for (let k = 0; k < size; k++)
    for (const p of [k, (size - 1) * size + k, k * size, k * size + size - 1]) {
      border += pixels[p];
      count++;
    }
  const inverted = border / count > 0.5;
  if (inverted) for (let k = 0; k < pixels.length; k++) pixels[k] = 1 - pixels[k];
  return { pixels, inverted, resized: img.width !== size || img.height !== size };
}
