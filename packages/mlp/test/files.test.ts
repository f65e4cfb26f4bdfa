// Atomic writes that survive a full disk, and checkpoints that say when they are damaged.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@backprop/graph';
import { loadModel, MLP, readIdx, readTensorFile, readUserFile, saveModel, writeFileAtomic, type WriteFn } from '../src/index.ts';
import { gzipSync } from 'node:zlib';

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

describe('readUserFile: only regular files, within a bound, never an unbounded read', () => {
  it('reads a file whole, and refuses a device, a pipe, a directory and a file over its bound in one line naming it', () => {
    const path = join(dir, 'some.bin');
    writeFileSync(path, Buffer.from('0123456789'));
    expect(readUserFile(path).toString()).toBe('0123456789');
    expect(() => readUserFile(path, { limit: 9, what: 'a config' })).toThrow(
      `${path}: is 10 bytes, more than a config can be (9 bytes); is it the right file?`,
    );
    // Unread: /dev/zero has no end, and a pipe with no writer would block an open that waited for one.
    expect(() => readTensorFile('/dev/zero')).toThrow(/^\/dev\/zero: is a device, not a file; name a file$/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => readIdx(fifo)).toThrow(`${fifo}: is a pipe, not a file; name a file`);
    expect(() => readUserFile(dir)).toThrow(`${dir}: is a directory, not a file; name a file`);
    expect(() => readUserFile(join(dir, 'none'))).toThrow(`${join(dir, 'none')}: cannot read: no such file or directory`);
    expect(() => readUserFile(join(dir, 'x'.repeat(300)))).toThrow(/: cannot read: file name too long \(a path is at most 4096 bytes, a name 255\)$/);
  });
  it('a file larger than Node reads at once (2 GiB) is refused before it is read: a sparse file of 3 GiB', () => {
    const big = join(dir, 'big.safetensors');
    writeFileSync(big, '');
    truncateSync(big, 3 * 2 ** 30); // sparse: no disk used
    expect(() => readTensorFile(big)).toThrow(`${big}: is 3.0 GiB, more than a model can be (2.0 GiB); is it the right file?`);
    rmSync(big);
  });
  it('a gzip file that inflates past the bound (2 GiB unless given) is refused, not inflated without end', () => {
    const bomb = join(dir, 'bomb-idx3-ubyte.gz');
    // An IDX header claiming 2^24 bytes, then as many zeros: 16 MiB inflated, 16 KiB compressed.
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
    writeFileSync(bomb, gzipSync(Buffer.concat([header, Buffer.alloc(2 ** 24)])));
    expect(readIdx(bomb).dims).toEqual([256, 256, 256]);
    expect(() => readIdx(bomb, { limit: 2 ** 20 })).toThrow(
      `${bomb}: decompresses to more than 1048576 bytes, more than an IDX file can be; is it the right file?`,
    );
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
    expect(() => loadModel(path)).toThrow(
      /flipped\.safetensors: not a valid model file: checksum mismatch: its data does not match the SHA-256 in its header$/,
    );
  });

  it('its checksum covers the header too: one changed bit in a metadata value or a tensor name makes it refuse to load', () => {
    for (const [text, offset] of [
      ['"epoch":"7"', 9],
      ['"layers.1.bias"', 10],
    ] as const) {
      const path = join(dir, 'header-flipped.safetensors');
      saveModel(path, net, { epoch: 7 });
      expect(loadModel(path).metadata.header_and_data_sha256).toMatch(/^[0-9a-f]{64}$/);
      const bytes = readFileSync(path);
      bytes[bytes.indexOf(text) + offset] ^= 0x01; // epoch 7 -> 6; layers.1.bias -> layers.1.cias: still a well-formed file
      writeFileSync(path, bytes);
      expect(() => loadModel(path)).toThrow(
        /header-flipped\.safetensors: not a valid model file: checksum mismatch: its header does not match the SHA-256 in it$/,
      );
    }
  });
});
