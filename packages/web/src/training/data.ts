/**
 * MNIST in a page or a worker: the four IDX files fetched once (from a URL beside the site's
 * pages, gzip-compressed) and kept in the browser's Cache Storage, so that the next visit reads them
 * without the network; parsed by @backprop/mlp's parseIdx.
 */
import { idxDataset, parseIdx, type Dataset } from '@backprop/mlp/core';

const CACHE = 'backprop-mnist-v1';

/** The bytes at `url`, from Cache Storage when it has them (and stored there after a fetch), inflated when they are gzip. */
async function bytesOf(url: string): Promise<Uint8Array> {
  const cache = typeof caches === 'object' ? await caches.open(CACHE).catch(() => undefined) : undefined;
  let response = await cache?.match(url);
  if (!response) {
    const fetched = await fetch(url);
    if (!fetched.ok)
      throw new Error(`${url}: ${fetched.status} ${fetched.statusText}; the site serves MNIST's IDX files there (npm run build:web copies them)`);
    await cache?.put(url, fetched.clone()).catch(() => undefined); // a full or refused cache: fetched again next time
    response = fetched;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A server may have inflated it already (Content-Encoding: gzip): the magic number says which.
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/** One split ('train' or 't10k') of MNIST from the directory at `base` (a URL ending in '/'). */
export async function fetchSplit(base: string, split: 'train' | 't10k'): Promise<Dataset<Uint8Array, Uint8Array>> {
  const imagesUrl = new URL(`${split}-images-idx3-ubyte.gz`, base).href;
  const labelsUrl = new URL(`${split}-labels-idx1-ubyte.gz`, base).href;
  const [images, labels] = await Promise.all([bytesOf(imagesUrl), bytesOf(labelsUrl)]);
  return idxDataset(parseIdx(images, imagesUrl), parseIdx(labels, labelsUrl), imagesUrl, labelsUrl);
}
