/**
 * Kernel threads: a team of workers (worker_threads in Node, Web Workers in a cross-origin-isolated
 * page) that each instantiate the kernels' module on the one shared WebAssembly memory, so that a
 * large product is split among them by rows of its output. The calling thread writes each worker's
 * part (an export and its arguments) into a small shared control block and wakes it with
 * Atomics.notify; no message is posted per call. It runs the first part itself, then takes back
 * every part no worker has claimed yet (on a busy machine a woken worker may wait for a core: the
 * call then costs what one thread costs, not a time slice more), and waits for the others
 * (Atomics.wait in Node and in workers; a browser's main thread may not block, and polls).
 *
 * Every part is a call of the same export on a range of whole output rows, cut where the kernel's
 * own blocking would cut anyway (a multiple of its row block), so each output value is computed by
 * the same instructions in the same order whatever the number of threads: the bits never depend on it.
 *
 * The workers do not keep a process alive (unref'd once ready), and a kernel that throws in a worker
 * throws on the calling thread with the worker's message. Where there is no shared memory, no
 * worker, or the page is not cross-origin isolated, everything runs on the calling thread.
 */
import { setting } from './environment.ts';
import { ARGC, ARGS, CLAIM, DONE, FN, MESSAGE, RESULT, SEQ, SLOT, SPIN, STATUS, workerSource } from './thread-worker.ts';

/** The most threads a team has (the calling thread and 63 workers). */
export const MAX_THREADS = 64;

interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
}
interface NodeWorker extends WorkerLike {
  on(event: 'message' | 'error' | 'exit', f: (value: unknown) => void): void;
  unref(): void;
}
interface Handle {
  worker: WorkerLike;
  ready: Promise<void>;
  isReady: boolean;
  seq: number;
  failed?: Error;
}

/**
 * A whole number in [low, high] from environment variable `name`, or `fallback` where it is unset or
 * empty; a malformed value throws, naming the variable and the way out.
 */
function fromEnvironment(name: string, fallback: number, low: number, high: number, what: string): number {
  const text = setting(name)?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!(/^\d+$/.test(text) && value >= low && value <= high)) throw new Error(`${name}=${text}: expected ${what}; unset it for the default (${fallback})`);
  return value;
}

/**
 * The threads kernels may use: `setThreads` sets it for every team of the process; until it is
 * called, BACKPROP_THREADS (as OMP_NUM_THREADS is for OpenMP) or 1. Read on first use, so that a
 * malformed value is an error where the kernels are first called, not an import that fails.
 */
let wanted: number | undefined;
/** The threads wanted: BACKPROP_THREADS on first use (BACKPROP_PART_WORK is checked then too, so that a malformed value is an error with any kernels). */
function want(): number {
  if (wanted === undefined) {
    partWork();
    wanted = fromEnvironment('BACKPROP_THREADS', 1, 1, MAX_THREADS, `a whole number of threads in [1, ${MAX_THREADS}] (1: no worker threads)`);
  }
  return wanted;
}
const teams = new Set<Team>();

/** A worker running `workerSource`, or null where the runtime has none. */
function spawn(): { worker: WorkerLike; node: boolean } | null {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const threads = process?.getBuiltinModule?.('node:worker_threads') as { Worker: new (src: string, o: { eval: boolean }) => NodeWorker } | undefined;
  if (threads) return { worker: new threads.Worker(workerSource, { eval: true }), node: true };
  const web = globalThis as { Worker?: new (url: string) => Worker; Blob?: typeof Blob; URL?: typeof URL };
  if (!web.Worker || !web.Blob || !web.URL?.createObjectURL) return null;
  const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  try {
    return { worker: new web.Worker(url), node: false };
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

/** Whether this runtime can share the memory with workers: SharedArrayBuffer, and cross-origin isolation in a page. */
export function threadsAllowed(memory: WebAssembly.Memory | null): boolean {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return memory !== null && typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer && isolated !== false;
}

/** The workers that run one module's exports on one memory, and the calling thread that leads them. */
export class Team {
  private readonly workers: Handle[] = [];
  private readonly control = new SharedArrayBuffer(SLOT * 4 * (MAX_THREADS - 1));
  private readonly c = new Int32Array(this.control);
  private readonly f = new Float64Array(this.control);
  private readonly names: string[];
  /** Whether this thread may block (Atomics.wait): not a browser's main thread. */
  private readonly canWait: boolean;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly exports: Record<string, unknown>,
  ) {
    this.names = WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    let canWait = true;
    try {
      Atomics.wait(this.c, 0, 1, 0); // 'not-equal' where blocking is allowed; throws on a page's main thread
    } catch {
      canWait = false;
    }
    this.canWait = canWait;
    teams.add(this);
    if (want() > 1) this.resize(want()).catch(() => undefined); // a failed start is reported by setThreads
  }

  /** The threads a call may use now: the calling thread and the workers that are ready, at most `wanted`. */
  get size(): number {
    let n = 1;
    for (const h of this.workers) if (h.isReady && !h.failed && n < want()) n++;
    return n;
  }

  /**
   * Starts workers until `threads` threads (this one included) can serve; resolves when they are
   * ready. Fewer threads wanted stops none: the extra workers sleep (Atomics.wait) until wanted again.
   */
  resize(threads: number): Promise<void> {
    while (this.workers.length < threads - 1) {
      const h = this.start(this.workers.length);
      if (!h) break;
      this.workers.push(h);
    }
    return Promise.all(this.workers.slice(0, threads - 1).map((h) => h.ready)).then(() => undefined);
  }

  private start(index: number): Handle | null {
    const spawned = threadsAllowed(this.memory) ? spawn() : null;
    if (!spawned) return null;
    const { worker, node } = spawned;
    const base = index * SLOT;
    Atomics.store(this.c, base + SEQ, 0);
    Atomics.store(this.c, base + DONE, 0);
    const handle: Handle = { worker, isReady: false, seq: 0, ready: Promise.resolve() };
    handle.ready = new Promise<void>((resolve, reject) => {
      const fail = (e: unknown) => {
        handle.failed = new Error(`a kernel thread failed to start: ${(e as Error)?.message ?? e}`);
        reject(handle.failed);
      };
      const ready = () => {
        handle.isReady = true;
        if (node) (worker as NodeWorker).unref(); // from now on it keeps nothing alive
        resolve();
      };
      if (node) {
        const w = worker as NodeWorker;
        w.on('message', ready);
        w.on('error', fail);
        w.on('exit', () => {
          handle.failed ??= new Error('a kernel thread exited');
          reject(handle.failed);
        });
      } else {
        const w = worker as Worker;
        w.onmessage = ready;
        w.onerror = (e) => fail(e.message);
      }
    });
    handle.ready.catch(() => undefined);
    worker.postMessage({ module: this.module, memory: this.memory, control: this.control, index });
    return handle;
  }

  private stop(h: Handle, index: number): void {
    h.failed ??= new Error('a kernel thread was stopped');
    Atomics.store(this.c, index * SLOT + SEQ, -1);
    Atomics.notify(this.c, index * SLOT + SEQ);
    if (!h.isReady) h.worker.terminate();
  }

  /**
   * Runs export `fn` once per entry of `parts` (its arguments): the first here, the others on ready
   * workers, at once (or here, those no worker has claimed when this thread is done with its own,
   * unless `takeBack` is false); returns each call's result when all are done. `parts.length` <=
   * `size`. Throws (after every part has finished) if any part threw, with that part's message.
   */
  run(fn: string, parts: number[][], takeBack = true): number[] {
    const at = this.names.indexOf(fn);
    if (at < 0) throw new Error(`kernel threads: the module has no export '${fn}'`);
    const ready = this.workers.filter((h) => h.isReady && !h.failed);
    if (parts.length - 1 > ready.length) throw new Error(`kernel threads: ${parts.length} parts for ${ready.length + 1} threads`);
    const { c, f } = this;
    const used: { base: number; seq: number }[] = [];
    for (let p = 1; p < parts.length; p++) {
      const h = ready[p - 1],
        base = this.workers.indexOf(h) * SLOT,
        args = parts[p];
      c[base + FN] = at;
      c[base + ARGC] = args.length;
      for (let i = 0; i < args.length; i++) f[base / 2 + ARGS / 2 + i] = args[i];
      const seq = (h.seq = (h.seq % 0x3fffffff) + 1); // 2 seq + 1 fits an int32
      Atomics.store(c, base + CLAIM, 2 * seq);
      Atomics.store(c, base + SEQ, seq);
      Atomics.notify(c, base + SEQ, 1);
      used.push({ base, seq });
    }
    const results = new Array<number>(parts.length).fill(0);
    let error: Error | null = null;
    const here = (p: number) => {
      try {
        results[p] = ((this.exports[fn] as (...a: number[]) => number)(...parts[p]) as number | undefined) ?? 0;
      } catch (e) {
        error ??= e as Error;
      }
    };
    here(0);
    used.forEach(({ base, seq }, p) => {
      if (takeBack && Atomics.compareExchange(c, base + CLAIM, 2 * seq, 2 * seq + 1) === 2 * seq) return here(p + 1);
      for (let i = 0; i < SPIN && Atomics.load(c, base + DONE) !== seq; i++);
      for (let now = Atomics.load(c, base + DONE); now !== seq; now = Atomics.load(c, base + DONE)) if (this.canWait) Atomics.wait(c, base + DONE, now, 1000);
      if (c[base + STATUS] !== 0) error ??= new Error(`a kernel thread failed in ${fn}: ${message(c, base)}`);
      results[p + 1] = f[base / 2 + RESULT / 2];
    });
    if (error) throw error;
    return results;
  }

  /** Stops every worker (the team is unusable after). */
  close(): void {
    this.workers.forEach((h, i) => this.stop(h, i));
    this.workers.length = 0;
    teams.delete(this);
  }
}

function message(c: Int32Array, base: number): string {
  let s = '';
  for (let i = base + MESSAGE; i < base + SLOT && c[i] !== 0; i++) s += String.fromCharCode(c[i]);
  return s;
}

/**
 * Sets how many threads the kernels use (1: the calling thread only; default 1), for every module
 * loaded in this process (or page, or worker), and resolves once the workers are ready; until then
 * calls run on the threads already ready (the results are the same bits). Where threads are not
 * allowed (no shared memory, a page that is not cross-origin isolated), it stays one thread. Going
 * down keeps the workers, asleep, so that going up again costs nothing.
 */
export function setPoolSize(threads: number): Promise<void> {
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new Error(`threads ${threads}: expected a whole number of threads in [1, ${MAX_THREADS}] (1: no worker threads)`);
  }
  wanted = threads;
  return Promise.all([...teams].map((t) => t.resize(threads))).then(() => undefined);
}

/** The threads set with `setThreads` (the kernels use fewer where threads are not allowed: `Team.size`). */
export function poolSize(): number {
  return want();
}

/** Read on first use, as BACKPROP_THREADS: BACKPROP_PART_WORK=1 splits every product a thread can take (to test that no split changes a bit). */
let minimumWork: number | undefined;

/**
 * The multiply-adds (about 50 us of one thread's work here) that pay for one more thread in a
 * product: a product of fewer than twice this stays on one thread. Waking a worker and waiting for
 * it cost 18-19 us on a quiet Zen 4 (round two) and 67-125 us on this session's Xeon at a load of
 * 15-22 (bench/threads.ts), so a part is kept several times the first: at batch 128 the paper's network splits every product but the last layer's;
 * at batch 8 none (round two measured splits there losing: docs/performance.md).
 */
export function partWork(): number {
  return (minimumWork ??= fromEnvironment('BACKPROP_PART_WORK', 1 << 20, 1, 2 ** 40, 'a whole number of multiply-adds a part, at least 1'));
}

/** @internal For tests: splits products from `work` multiply-adds a part (down to tiny ones); returns the old setting. */
export function setPartWork(work: number): number {
  const old = partWork();
  minimumWork = work;
  return old;
}

/**
 * Splits rows [0, m) into up to `parts` ranges of about equal size that each start at a multiple of
 * `block` (the kernel's row block, so that no block is cut): [start, end) pairs, none empty.
 */
export function splitRows(m: number, parts: number, block: number): [number, number][] {
  const blocks = Math.ceil(m / block),
    n = Math.max(1, Math.min(parts, blocks));
  const out: [number, number][] = [];
  for (let p = 0; p < n; p++) {
    const start = Math.floor((p * blocks) / n) * block,
      end = Math.min(m, Math.floor(((p + 1) * blocks) / n) * block);
    if (end > start) out.push([start, end]);
  }
  return out;
}
