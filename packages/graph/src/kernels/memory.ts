/**
 * Where float32 tensors live: in the WebAssembly kernels' linear memory, so that a kernel reads
 * its operands and writes its result in place, without copying them in and out at every call.
 *
 * The memory has a fixed size (reserved, not resident: untouched pages cost nothing), so views on
 * it are never detached by a `grow`. Blocks are recycled by size. A block is freed
 *  - at the end of the `tidy` scope it was allocated in (a training step, say), unless `tidy`
 *    returns it or it was `keep`-ed, or
 *  - once the garbage collector has dropped the last view on it (a FinalizationRegistry: correct,
 *    but late, as it runs after a full collection only).
 * When the memory is full, or without the compiled module (or with BACKPROP_KERNELS=js), arrays are
 * ordinary JavaScript ones and the WebAssembly kernels copy them in: slower, never wrong.
 * float64 (for checking) always lives in the JavaScript heap.
 */
import { existsSync } from 'node:fs';

const PAGE = 65536;
/** Blocks start on a cache line, which also aligns SIMD loads. */
const ALIGN = 64;
/** The first bytes are left to the module's own data. */
const RESERVED = PAGE;

export const wasmPath = new URL('../../build/kernels.wasm', import.meta.url);
export const wasmFmaPath = new URL('../../build/kernels-fma.wasm', import.meta.url);

/** MiB of address space for tensors (BACKPROP_WASM_MB, default 1024). */
function reservedBytes(): number {
  const mb = Number(process.env.BACKPROP_WASM_MB ?? 1024);
  if (!Number.isInteger(mb) || mb < 1 || mb > 4095) {
    throw new Error(`BACKPROP_WASM_MB must be a whole number of MiB in [1, 4095], got '${process.env.BACKPROP_WASM_MB}'`);
  }
  return mb * 1024 * 1024;
}

const enabled = process.env.BACKPROP_KERNELS !== 'js' && existsSync(wasmPath);

/** The linear memory the WebAssembly kernels run on, or null when they are off. */
export const memory: WebAssembly.Memory | null = enabled
  ? new WebAssembly.Memory({ initial: reservedBytes() / PAGE, maximum: reservedBytes() / PAGE })
  : null;

/** A block: its byte offset and (aligned) byte size. */
interface Block {
  at: number;
  bytes: number;
}

class Arena {
  private top = RESERVED;
  /** Free blocks by size: the shapes of a training step repeat, so exact sizes are reused. */
  private readonly free = new Map<number, number[]>();
  /** The open `tidy` scopes, innermost last: the blocks allocated in each. */
  readonly scopes: Block[][] = [];
  private readonly collected = new FinalizationRegistry<Block>((b) => this.release(b));

  constructor(private readonly buffer: ArrayBuffer) {}

  /** A block of `bytes` (aligned): a free one of that size, or a fresh one from the top; null when full. */
  private take(bytes: number): { at: number; reused: boolean } | null {
    const at = this.free.get(bytes)?.pop();
    if (at !== undefined) return { at, reused: true };
    if (this.top + bytes > this.buffer.byteLength) return null;
    this.top += bytes;
    return { at: this.top - bytes, reused: false };
  }

  /** `size` zeroed float32s in the memory, or null when it is full. */
  allocate(size: number, zero: boolean): Float32Array | null {
    const bytes = Math.max(ALIGN, Math.ceil((4 * size) / ALIGN) * ALIGN);
    const taken = this.take(bytes);
    if (!taken) return null;
    const { at, reused } = taken;
    const view = new Float32Array(this.buffer, at, size);
    if (zero && reused) view.fill(0); // fresh blocks above the old top were never written
    const block = { at, bytes };
    const scope = this.scopes.at(-1);
    if (scope) scope.push(block);
    else this.collected.register(view, block, block);
    return view;
  }

  release(block: Block): void {
    const list = this.free.get(block.bytes);
    if (list) list.push(block.at);
    else this.free.set(block.bytes, [block.at]);
  }

  /** Moves the block under `view` out of the innermost scope: to the outer one, or to the collector. */
  keep(view: Float32Array): void {
    const scope = this.scopes.at(-1);
    const i = view.buffer === this.buffer && scope ? scope.findIndex((b) => b.at === view.byteOffset) : -1;
    if (i < 0) return;
    const [block] = scope!.splice(i, 1);
    const outer = this.scopes.at(-2);
    if (outer) outer.push(block);
    else this.collected.register(view, block, block);
  }

  private scratchBlock: Block | null = null;

  /**
   * The byte offset of at least `bytes` for a kernel's own temporaries during one call: one block,
   * reused by every call (and grown when too small), in no scope. Null when the memory is full.
   */
  scratch(bytes: number): number | null {
    if (!this.scratchBlock || this.scratchBlock.bytes < bytes) {
      const want = Math.ceil(bytes / ALIGN) * ALIGN;
      const taken = this.take(want);
      if (!taken) return null;
      if (this.scratchBlock) this.release(this.scratchBlock);
      this.scratchBlock = { at: taken.at, bytes: want };
    }
    return this.scratchBlock.at;
  }

  /** Bytes ever handed out, in use or free for reuse: the high-water mark (for tests). */
  get used(): number {
    return this.top - RESERVED;
  }
}

export const arena: Arena | null = memory ? new Arena(memory.buffer) : null;
const buffer = memory?.buffer;

/** True when `data` lives in the kernels' memory (a kernel can then read it in place). */
export function inMemory(data: ArrayBufferView): boolean {
  return data.buffer === buffer;
}

/** `size` zeroed float32s: in the kernels' memory when there is room, else an ordinary array. */
export function allocateF32(size: number, zero = true): Float32Array {
  return arena?.allocate(size, zero) ?? new Float32Array(size);
}

/** What a `tidy` function returns: its tensors (any object with an `array.data`) and Float32Arrays are kept. */

/**
 * Runs `fn` and frees the float32 memory of every array allocated while it ran (op outputs,
 * gradients, temporaries), except the tensors (and Float32Arrays) it returns, alone or in an array
 * or plain object, and those passed to `keep`. Tensors made inside must not be used after it returns; a training
 * step runs in one, so that its memory is reused by the next. Scopes nest. Without the WebAssembly
 * memory it just runs `fn`.
 */
export function tidy<T>(fn: () => T): T {
  if (!arena) return fn();
  arena.scopes.push([]);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: the function returned a promise; tidy frees memory when the function returns, so it must be synchronous');
    keepAll(result);
  } finally {
    const scope = arena.scopes.pop()!;
    for (const block of scope) arena.release(block);
  }
  return result;
}

/** Keeps a tensor made inside `tidy` alive past it (moves it to the enclosing scope). */
export function keep<T extends { array: { data: ArrayBufferView } }>(t: T): T {
  const data = t.array.data;
  if (arena && data instanceof Float32Array) arena.keep(data);
  return t;
}

function keepAll(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Float32Array) arena?.keep(value);
  else if ('array' in value && value.array && typeof value.array === 'object' && 'data' in value.array) {
    keep(value as { array: { data: ArrayBufferView } });
  } else if (Array.isArray(value)) {
    value.forEach(keepAll);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value).forEach(keepAll);
  }
}
