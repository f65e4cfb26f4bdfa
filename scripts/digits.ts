/**
 * `npx tsx scripts/digits.ts`: writes the sample images for `backprop predict` in examples/digits/,
 * each an image of the MNIST test set, so that anyone can make them again: a 7 as MNIST has it
 * (light on dark, PNG), a 2 as a binary PGM, and a 4 drawn dark on light at three times the size
 * (PNG), as a digit on paper would be. packages/cli/test/digits.test.ts checks that the shipped
 * files hold these images and that predict reads each back as the test image it was made from.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { defaultMnistDir, loadSplit } from '@backprop/mlp';

export const digitsDir = fileURLToPath(new URL('../examples/digits/', import.meta.url));

export interface DigitSample {
  file: string;
  /** Its index in the MNIST test set, and its label. */
  index: number;
  label: number;
  /** Drawn dark on light (MNIST's digits are light on dark). */
  inverted: boolean;
  /** Each pixel of the 28x28 image drawn as scale x scale pixels. */
  scale: number;
}

export const digitSamples: DigitSample[] = [
  { file: 'seven.png', index: 0, label: 7, inverted: false, scale: 1 },
  { file: 'two.pgm', index: 1, label: 2, inverted: false, scale: 1 },
  { file: 'four-dark-on-light.png', index: 4, label: 4, inverted: true, scale: 3 },
];

/** The gray pixels (0-255, row-major) of a sample: its MNIST test image, inverted and scaled as it says. */
export function samplePixels(sample: DigitSample, dir = defaultMnistDir()): { width: number; height: number; pixels: Uint8Array } {
  const test = loadSplit(dir, 't10k');
  if (test.labels[sample.index] !== sample.label) throw new Error(`MNIST test image ${sample.index} is a ${test.labels[sample.index]}, not a ${sample.label}`);
  const { rows, cols } = test,
    s = sample.scale;
  const image = test.images.subarray(sample.index * rows * cols, (sample.index + 1) * rows * cols);
  const pixels = new Uint8Array(rows * s * cols * s);
  for (let y = 0; y < rows * s; y++) {
    for (let x = 0; x < cols * s; x++) {
      const v = image[Math.floor(y / s) * cols + Math.floor(x / s)];
      pixels[y * cols * s + x] = sample.inverted ? 255 - v : v;
    }
  }
  return { width: cols * s, height: rows * s, pixels };
}

/** A binary PGM (P5, maximum value 255). */
export function encodePgm(width: number, height: number, pixels: Uint8Array, comment: string): Buffer {
  return Buffer.concat([Buffer.from(`P5\n# ${comment}\n${width} ${height}\n255\n`, 'latin1'), Buffer.from(pixels)]);
}

/**
 * An 8-bit grayscale PNG. Written here, not with pngjs (which reads them in the CLI and the test),
 * because scripts/ does not depend on the CLI's packages; the format needs only zlib and a CRC.
 */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grayscale, deflate, no filter method variants, not interlaced
  // Every row starts with filter type 0 (none).
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** CRC-32 (ISO 3309), as PNG's chunks carry it. */
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The file of a sample, as this script writes it. */
export function encodeSample(sample: DigitSample): Buffer {
  const { width, height, pixels } = samplePixels(sample);
  const about = `MNIST test image ${sample.index} (a ${sample.label})${sample.inverted ? ', dark on light' : ''}`;
  return sample.file.endsWith('.pgm') ? encodePgm(width, height, pixels, about) : encodePng(width, height, pixels);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(digitsDir, { recursive: true });
  for (const sample of digitSamples) {
    const path = join(digitsDir, sample.file);
    writeFileSync(`${path}.tmp`, encodeSample(sample)); // whole or not at all
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${path}`);
  }
}
