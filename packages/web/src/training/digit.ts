/**
 * A drawn digit made like MNIST's (LeCun et al.): the ink's bounding box scaled to fit a 20x20 box
 * (keeping its aspect ratio, grey levels by averaging), then placed in a 28x28 field with its centre
 * of mass at the centre.
 */

/** 784 values in [0, 1] (row-major 28x28) from `ink`, a size x size image in [0, 1]; null if it has no ink. */
export function mnistPixels(ink: ArrayLike<number>, size: number): Float32Array | null {
  let x0 = size,
    y0 = size,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if (ink[y * size + x] > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1,
    h = y1 - y0 + 1;
  const scale = 20 / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale)),
    th = Math.max(1, Math.round(h * scale));
  // Each source pixel adds to the box pixel it falls in; a box pixel no source falls in (a drawing
  // smaller than the box) takes the source pixel under its centre.
  const sum = new Float64Array(tw * th),
    count = new Float64Array(tw * th);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = Math.min(th - 1, Math.floor(y * scale)) * tw + Math.min(tw - 1, Math.floor(x * scale));
      sum[i] += ink[(y0 + y) * size + x0 + x];
      count[i]++;
    }
  const box = new Float64Array(tw * th);
  for (let i = 0; i < box.length; i++) {
    if (count[i]) box[i] = sum[i] / count[i];
    else {
      const sx = Math.min(w - 1, Math.floor(((i % tw) + 0.5) / scale)),
        sy = Math.min(h - 1, Math.floor((Math.floor(i / tw) + 0.5) / scale));
      box[i] = ink[(y0 + sy) * size + x0 + sx];
    }
  }
  // The centre of mass, moved to (14, 14) by a whole-pixel shift.
  let mass = 0,
    cx = 0,
    cy = 0;
  for (let i = 0; i < box.length; i++) {
    mass += box[i];
    cx += box[i] * ((i % tw) + 0.5);
    cy += box[i] * (Math.floor(i / tw) + 0.5);
  }
  const dx = Math.round(14 - cx / mass),
    dy = Math.round(14 - cy / mass);
  const out = new Float32Array(784);
  for (let i = 0; i < box.length; i++) {
    const x = (i % tw) + dx,
      y = Math.floor(i / tw) + dy;
    if (x >= 0 && x < 28 && y >= 0 && y < 28) out[y * 28 + x] = box[i];
  }
  return out;
}

/** 784 pixels as 784 hex digits (16 grey levels): a drawing in a URL. */
export const pixelsToHex = (p: Float32Array): string => Array.from(p, (v) => Math.round(v * 15).toString(16)).join('');

/** The inverse of pixelsToHex; null for anything but 784 hex digits. */
export function hexToPixels(s: string): Float32Array | null {
  if (!/^[0-9a-f]{784}$/.test(s)) return null;
  return Float32Array.from(s, (c) => parseInt(c, 16) / 15);
}
