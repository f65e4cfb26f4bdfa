/**
 * Where arrays live and who owns them.
 *
 * float32 arrays live in the WebAssembly kernels' linear memory when it is there, so that a kernel
 * reads its operands and writes its result in place; float64 (for checking) lives in the JavaScript
 * heap. Every array handed out by `allocate` has a `Storage` that records its owner:
 *  - a `Scope` (a training step, say): freed when the scope ends, unless kept or returned;
 *  - 'owned': by the objects that reference it (parameters, optimiser state); freed by `dispose()`
 *    or once the garbage collector has dropped the array (a FinalizationRegistry);
 *  - 'grad': pinned by the parameters whose `.grad` it is; when the last of them lets go (a later
 *    backward replaced it), it becomes a temporary of the innermost open scope.
 * A released storage is marked, and a tensor over it throws when read (tensor.ts): memory that was
 * recycled is never read silently, in every build (the marks do not depend on where arrays live).
 *
 * The WebAssembly memory is shared (`shared: true`, a SharedArrayBuffer): it starts at 1 MiB and
 * grows on demand, doubling, up to a maximum (1 GiB by default, BACKPROP_WASM_MB changes it; then
 * arrays go to the JavaScript heap). Growing a shared memory moves nothing and detaches nothing: an
 * array made before a growth is a view of the same bytes after it (a plain memory's growth would
 * detach every view the tensors hold). Where the runtime will not make a shared memory (Firefox and
 * Safari outside a cross-origin-isolated page), there is no WebAssembly memory, and the TypeScript
 * kernels run on arrays in the JavaScript heap.
 *
 * Nothing happens on import: the memory is created by the first allocation, and the kernels
 * (wasm.ts) by the first kernel call. The default `Memory` is the one context of the process (or
 * page, or worker), shared by every user of the library there, as a C library shares malloc: each
 * scope frees only what it allocated.
 */
import { chosenBuild } from './builds.ts';
import { setting } from './environment.ts';

export type DType = 'float32' | 'float64';
export type Data = Float32Array | Float64Array;

export function dtypeOf(data: Data): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

const PAGE = 65536;
/** Blocks start on a cache line, which also aligns SIMD loads. */
const ALIGN = 64;
/** The first bytes are left to the module's own data. */
const RESERVED = PAGE;

/** The memory's size when it is made: 1 MiB (the module's own data, then tensors). */
const INITIAL = 16 * PAGE;

/** The most the memory may grow to, in MiB (BACKPROP_WASM_MB, default 1024). */
function maximumMiB(): number {
  const value = setting('BACKPROP_WASM_MB'),
    mb = Number(value ?? 1024);
  if (!Number.isInteger(mb) || mb < 1 || mb > 4095) {
    throw new Error(`BACKPROP_WASM_MB must be a whole number of MiB in [1, 4095], got '${value}'`);
  }
  return mb;
}

/** A shared WebAssembly memory of `initial` bytes that can grow to `maximum`, or null where the runtime refuses one. */
function sharedMemory(initial: number, maximum: number): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: Math.min(initial, maximum) / PAGE, maximum: maximum / PAGE, shared: true });
  } catch {
    return null; // no shared memory outside a cross-origin-isolated page (Firefox, Safari), or no room to reserve it
  }
}

/**
 * Each array `allocate` hands out carries its storage under this key (a property of the array
 * itself: a lookup table would cost a hash insertion per allocation, and a WeakMap garbage
 * collection work besides). A subarray or another view made by the user does not carry it.
 */
const STORAGE = Symbol('storage');
type Tagged = Data & { [STORAGE]?: Storage };

/** Why a storage was released: the error a tensor over it throws says so. */
export type Released = 'scope' | 'dispose';

/** One allocation's bookkeeping: where its block is (at < 0: the JavaScript heap) and who owns it. */
export class Storage {
  released: Released | null = null;
  /** Parameters whose `.grad` holds this storage (owner 'grad'). */
  pins = 0;
  /** Once a parameter's gradient (for the error message). */
  wasGrad = false;
  constructor(
    readonly at: number,
    readonly bytes: number,
    public owner: Scope | 'owned' | 'grad',
  ) {}
}

/**
 * An explicit owner of temporaries: every array allocated while it is the innermost open scope is
 * freed by `dispose()` (or at the end of a `using` block), except what `keep` moves out. `tidy(fn)`
 * opens one around `fn`. Scopes nest; the memory keeps the stack of open ones, so that a kernel
 * deep inside an op allocates into the scope its caller opened.
 */
export class Scope {
  private readonly temporaries: Storage[] = [];
  private open = true;
  readonly parent: Scope | null;

  constructor(readonly memory: Memory = defaultMemory()) {
    this.parent = memory.innermost;
    memory.opened(this);
  }

  /** @internal: a storage allocated while this scope is innermost. */
  add(storage: Storage): void {
    this.temporaries.push(storage);
  }

  /** Moves a storage this scope owns to the enclosing scope (or to its owners, outside every scope). */
  keep(storage: Storage, data: Data): void {
    if (storage.owner !== this) return;
    if (this.parent?.open) {
      storage.owner = this.parent;
      this.parent.add(storage);
    } else this.memory.own(storage, data);
  }

  /** Frees every temporary that is still this scope's. Idempotent. */
  dispose(): void {
    if (!this.open) return;
    this.open = false;
    this.memory.closed(this);
    for (const s of this.temporaries) if (s.owner === this) this.memory.release(s, 'scope');
    this.temporaries.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The allocator: a growing WebAssembly memory recycled by block size, the storages, and the open scopes. */
export class Memory {
  /** The linear memory the WebAssembly kernels run on, or null when they are off (BACKPROP_KERNELS=js, an engine without them). */
  readonly wasm: WebAssembly.Memory | null;
  /** The bytes the memory may grow to. */
  readonly maximum: number;
  /** The memory's buffer as of its last growth: a view made now may cover all of it. */
  private buffer: ArrayBufferLike | null;
  /** Every buffer the memory has had (one per growth): all views of the same bytes. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private top = RESERVED;
  /** Free blocks by size: the shapes of a training step repeat, so exact sizes are reused. */
  private readonly free = new Map<number, number[]>();
  private readonly scopes: Scope[] = [];

  private readonly collector = new FinalizationRegistry<Storage>((s) => this.release(s, 'dispose'));
  private scratchBlock: { at: number; bytes: number } | null = null;

  /**
   * `wasm`: whether float32 arrays go to a WebAssembly memory (by default where the WebAssembly
   * kernels run); `maximumMiB`: the most it grows to (by default BACKPROP_WASM_MB, else 1024).
   */
  constructor(options: { wasm?: boolean; maximumMiB?: number } = {}) {
    const wanted = options.wasm ?? chosenBuild() !== null;
    this.maximum = wanted ? (options.maximumMiB ?? maximumMiB()) * 1024 * 1024 : 0;
    this.wasm = wanted ? sharedMemory(INITIAL, this.maximum) : null;
    this.buffer = this.wasm?.buffer ?? null;
    if (this.buffer) this.buffers.add(this.buffer);
  }

  get innermost(): Scope | null {
    return this.scopes.length ? this.scopes[this.scopes.length - 1] : null;
  }

  /** @internal */
  opened(scope: Scope): void {
    this.scopes.push(scope);
  }

  /** @internal: scopes may close in any order; allocations go to the innermost one still open. */
  closed(scope: Scope): void {
    const i = this.scopes.lastIndexOf(scope);
    if (i >= 0) this.scopes.splice(i, 1);
  }

  /**
   * `size` zeroed values of `dtype`: float32 in the WebAssembly memory when there is room. A
   * 'scope' array belongs to the innermost open scope (or, outside every scope, to the objects
   * that reference it); an 'owned' one always to those objects.
   */
  allocate(dtype: DType, size: number, lifetime: 'scope' | 'owned' = 'scope', zero = true): Data {
    let data: Data,
      at = -1,
      bytes = 0;
    if (dtype === 'float32' && this.buffer) {
      bytes = Math.max(ALIGN, Math.ceil((4 * size) / ALIGN) * ALIGN);
      const taken = this.take(bytes);
      if (taken) {
        at = taken.at;
        data = new Float32Array(this.buffer, at, size);
        if (zero && taken.reused) data.fill(0); // fresh blocks above the old top were never written
      } else data = new Float32Array(size);
    } else data = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
    const scope = lifetime === 'scope' ? this.innermost : null;
    const storage = new Storage(at, bytes, scope ?? 'owned');
    if (scope) scope.add(storage);
    else if (at >= 0) this.collector.register(data, storage, storage);
    (data as Tagged)[STORAGE] = storage;
    return data;
  }

  /** The storage of an array `allocate` returned; undefined for one it did not (a user's own array). */
  storageOf(data: Data): Storage | undefined {
    return (data as Tagged)[STORAGE];
  }

  /** True when `data` is part of the WebAssembly memory (a kernel can then read it in place). */
  holds(data: ArrayBufferView): boolean {
    return this.buffers.has(data.buffer);
  }

  /** @internal: hands a storage to the objects that reference `data` (freed after they are collected). */
  own(storage: Storage, data: Data): void {
    storage.owner = 'owned';
    if (storage.at >= 0) this.collector.register(data, storage, storage);
  }

  /** Pins a storage as a parameter's gradient: out of its scope, for as long as a parameter holds it. */
  pin(storage: Storage, data: Data): void {
    if (storage.owner instanceof Scope) {
      storage.owner = 'grad';
      storage.wasGrad = true;
      if (storage.at >= 0) this.collector.register(data, storage, storage);
    }
    if (storage.owner === 'grad') storage.pins++;
  }

  /** A parameter let go of its gradient: once no parameter holds it, it is a temporary of the innermost scope. */
  unpin(storage: Storage): void {
    if (storage.owner !== 'grad' || --storage.pins > 0) return;
    const scope = this.innermost;
    if (!scope) return void (storage.owner = 'owned'); // stays registered with the collector
    this.collector.unregister(storage);
    storage.owner = scope;
    scope.add(storage);
  }

  /** Frees an 'owned' storage now (Tensor.dispose). */
  dispose(storage: Storage): void {
    if (storage.owner !== 'owned') return;
    this.collector.unregister(storage);
    this.release(storage, 'dispose');
  }

  /** @internal: marks a storage released and returns its block for reuse. */
  release(storage: Storage, why: Released): void {
    if (storage.released) return;
    storage.released = why;
    if (storage.at >= 0) this.freeBlock(storage.at, storage.bytes);
  }

  private freeBlock(at: number, bytes: number): void {
    const list = this.free.get(bytes);
    if (list) list.push(at);
    else this.free.set(bytes, [at]);
  }

  /** A block of `bytes` (aligned): a free one of that size, or a fresh one from the top; null when full. */
  private take(bytes: number): { at: number; reused: boolean } | null {
    const at = this.free.get(bytes)?.pop();
    if (at !== undefined) return { at, reused: true };
    if (!this.buffer || (this.top + bytes > this.buffer.byteLength && !this.grow(this.top + bytes))) return null;
    this.top += bytes;
    return { at: this.top - bytes, reused: false };
  }

  /** Grows the memory to hold `end` bytes (at least doubling it, at most to the maximum); false when it cannot. */
  private grow(end: number): boolean {
    const size = this.buffer!.byteLength;
    if (end > this.maximum) return false;
    const target = Math.min(this.maximum, Math.max(2 * size, Math.ceil(end / PAGE) * PAGE));
    try {
      this.wasm!.grow((target - size) / PAGE);
    } catch {
      return false; // the system would not commit the pages: the JavaScript heap then
    }
    this.buffer = this.wasm!.buffer;
    this.buffers.add(this.buffer);
    return true;
  }

  /** The bytes the memory has now (it grows as arrays need). */
  get size(): number {
    return this.buffer?.byteLength ?? 0;
  }

  /**
   * The byte offset of at least `bytes` for a kernel's own temporaries during one call: one block,
   * reused by every call (and grown when too small), owned by no scope. Null when the memory is full.
   */
  scratch(bytes: number): number | null {
    if (!this.scratchBlock || this.scratchBlock.bytes < bytes) {
      const want = Math.ceil(bytes / ALIGN) * ALIGN;
      const taken = this.take(want);
      if (!taken) return null;
      if (this.scratchBlock) this.freeBlock(this.scratchBlock.at, this.scratchBlock.bytes);
      this.scratchBlock = { at: taken.at, bytes: want };
    }
    return this.scratchBlock.at;
  }

  /** Bytes ever handed out, in use or free for reuse: the high-water mark (for tests). */
  get used(): number {
    return this.top - RESERVED;
  }
}

let shared: Memory | null = null;

/** The process's default memory, created on first use. */
export function defaultMemory(): Memory {
  return (shared ??= new Memory());
}

/** `size` zeros of `dtype` in the default memory, owned by the innermost open scope ('scope') or by its referrers ('owned'). */
export function allocate(dtype: DType, size: number, lifetime: 'scope' | 'owned' = 'scope'): Data {
  return defaultMemory().allocate(dtype, size, lifetime);
}

/** float32 values left unwritten (the kernel writes every one): for kernel outputs. */
export function allocateF32(size: number, zero = true): Float32Array {
  return defaultMemory().allocate('float32', size, 'scope', zero) as Float32Array;
}

/** True when `data` lives in the kernels' memory. */
export function inMemory(data: ArrayBufferView): boolean {
  return shared !== null && shared.holds(data);
}

/** Anything whose memory `tidy` can keep: a tensor (tensor.ts implements it). */
export interface Keepable {
  keepIn(scope: Scope): void;
}

/**
 * Runs `fn` in a new scope and frees every array allocated while it ran (op outputs, gradients that
 * no parameter holds, temporaries), except what it returns (tensors, alone or in arrays and plain
 * objects) and what is passed to `keep`. Parameters (tensors made with `requiresGrad`), their
 * gradients and optimiser state are never a scope's: a network or an optimiser built inside lives
 * on. A tensor freed with the scope throws when it is used later. Scopes nest.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope();
  try {
    const result = fn();
    if (result instanceof Promise)
      throw new Error('tidy: the function returned a promise; tidy frees memory when the function returns, so it must be synchronous');
    keepAll(result, scope, 0);
    return result;
  } finally {
    scope.dispose();
  }
}

/** Keeps a tensor made inside `tidy` alive past it (moves it to the enclosing scope). */
export function keep<T extends Keepable>(t: T): T {
  const scope = defaultMemory().innermost;
  if (scope) t.keepIn(scope);
  return t;
}

function keepAll(value: unknown, scope: Scope, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 64) return;
  if ('keepIn' in value && typeof value.keepIn === 'function') (value as Keepable).keepIn(scope);
  else if (value instanceof Float32Array || value instanceof Float64Array) {
    const s = scope.memory.storageOf(value);
    if (s) scope.keep(s, value);
  } else if (Array.isArray(value)) {
    for (const v of value) keepAll(v, scope, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) keepAll(v, scope, depth + 1);
  }
}
