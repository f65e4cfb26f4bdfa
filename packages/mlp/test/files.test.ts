// Atomic writes that survive a full disk, and checkpoints that say when they are damaged.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@backprop/graph';
import { loadModel, MLP, saveModel, writeFileAtomic, type WriteFn } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'files-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The real write, limited to `room` bytes in all, as a disk with that much space left behaves:
 * a write that does not fit writes what fits and returns the count; the next one fails with ENOSPC.
 */
function diskWithRoom(room: number): WriteFn {
  return (fd, buffer, offset, length) => {
    if (room === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const n = writeSync(fd, buffer, offset, Math.min(length, room));
    room -= n;
    return n;
  };
}

describe('writeFileAtomic', () => {
  it('writes every byte even when the system writes a little at a time', () => {
    const path = join(dir, 'short-writes.bin');
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251);
    let calls = 0;
    writeFileAtomic(path, data, { write: (fd, buffer, offset, length) => (calls++, writeSync(fd, buffer, offset, Math.min(length, 4096))) });
    expect(calls).toBe(Math.ceil(100_000 / 4096));
    expect(Buffer.compare(readFileSync(path), data)).toBe(0);
  });

  it('on a full disk leaves the previous file untouched, removes its temporary file, and names the file', () => {
    const path = join(dir, 'checkpoint-epoch-003.safetensors');
    writeFileSync(path, 'the previous checkpoint');
    // The old writer wrote once and renamed whatever it got: a truncated file under the final name.
    expect(() => writeFileAtomic(path, new Uint8Array(10_000).fill(1), { write: diskWithRoom(6_000) })).toThrow(
      new RegExp(`^no space left on device writing ${path.replace(/[.]/g, '\\.')}$`),
    );
    expect(readFileSync(path, 'utf8')).toBe('the previous checkpoint');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // With room enough, the same call replaces it whole.
    writeFileAtomic(path, new Uint8Array(10_000).fill(1), { write: diskWithRoom(10_000) });
    expect(readFileSync(path)).toEqual(Buffer.alloc(10_000, 1));
  });

  it('names the file and the cause when the directory cannot be written', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'x.json'), '{}')).toThrow(/^no such file or directory writing .*missing\/x\.json$/);
  });
});

describe('checkpoint checksums', () => {
  const net = MLP.init({ sizes: [784, 16, 10], activation: 'tanh' }, Rng.seeded(5), { init: 'xavier' });

  it('a model file carries the SHA-256 of its data, and one changed bit makes it refuse to load', () => {
    const path = join(dir, 'flipped.safetensors');
    saveModel(path, net, { epoch: 1 });
    expect(loadModel(path).metadata.data_sha256).toMatch(/^[0-9a-f]{64}$/);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1000] ^= 0x01; // one bit of one weight: still a well-formed file
    writeFileSync(path, bytes);
    expect(() => loadModel(path)).toThrow(/flipped\.safetensors: not a valid model file: checksum mismatch: its data does not match the SHA-256 in its header$/);
  });

  it('its checksum covers the header too: one changed bit in a metadata value or a tensor name makes it refuse to load', () => {
    for (const [text, offset] of [['"epoch":"7"', 9], ['"layers.1.bias"', 10]] as const) {
      const path = join(dir, 'header-flipped.safetensors');
      saveModel(path, net, { epoch: 7 });
      expect(loadModel(path).metadata.header_and_data_sha256).toMatch(/^[0-9a-f]{64}$/);
      const bytes = readFileSync(path);
      bytes[bytes.indexOf(text) + offset] ^= 0x01; // epoch 7 -> 6; layers.1.bias -> layers.1.cias: still a well-formed file
      writeFileSync(path, bytes);
      expect(() => loadModel(path)).toThrow(/header-flipped\.safetensors: not a valid model file: checksum mismatch: its header does not match the SHA-256 in it$/);
    }
  });
});
