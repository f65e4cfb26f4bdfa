/**
 * The program each kernel thread runs (threads.ts), as text: a Node worker_threads worker (`eval`)
 * and a browser Web Worker (a Blob URL) both start from it, so that no bundler or runtime has to
 * find a file. It instantiates the kernels' module on the shared memory it is sent, then, forever:
 * sleeps on its slot's sequence number (Atomics.wait), claims the part posted there (unless the
 * calling thread took it back first: a worker the system has not scheduled yet delays nothing),
 * runs the export the slot names with the slot's arguments, and publishes its sequence number as
 * done (Atomics.notify). A kernel that throws (a trap) is reported in the slot, with its message,
 * as an error: the caller throws it.
 *
 * Slot layout (Int32 indices from the slot's start; threads.ts writes it):
 * 0 sequence (-1: exit), 1 done, 2 status (0 ok, 1 error), 3 export index, 4 argument count,
 * 5 claim (2 seq: posted, 2 seq + 1: taken, by a worker or back by the caller),
 * 8.. arguments as float64 (at most 20), 48 result as float64, 64..127 the error text (UTF-16 code units).
 */
export const SLOT = 128;
export const SEQ = 0,
  DONE = 1,
  STATUS = 2,
  FN = 3,
  ARGC = 4,
  CLAIM = 5,
  ARGS = 8,
  RESULT = 48,
  MESSAGE = 64;
/** How many times a thread polls its slot before it sleeps: a product follows a product closely in a step. */
export const SPIN = 4000;

export const workerSource = `
const node = typeof self === 'undefined';
// process.getBuiltinModule: the same in a CommonJS and an ES module worker (execArgv may make it either)
const port = node ? process.getBuiltinModule('node:worker_threads').parentPort : self;
const start = ({ module, memory, control, index }) => {
  const exported = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
  const x = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } }).exports;
  const c = new Int32Array(control, index * ${SLOT} * 4, ${SLOT});
  const f = new Float64Array(control, index * ${SLOT} * 4, ${SLOT} / 2);
  port.postMessage('ready');
  let seen = 0;
  for (;;) {
    for (let i = 0; i < ${SPIN} && Atomics.load(c, ${SEQ}) === seen; i++);
    Atomics.wait(c, ${SEQ}, seen);
    seen = Atomics.load(c, ${SEQ});
    if (seen < 0) break;
    if (Atomics.compareExchange(c, ${CLAIM}, 2 * seen, 2 * seen + 1) !== 2 * seen) continue; // taken back
    try {
      const args = Array.from({ length: c[${ARGC}] }, (_, i) => f[${ARGS / 2} + i]);
      f[${RESULT / 2}] = x[exported[c[${FN}]]](...args) ?? 0;
      c[${STATUS}] = 0;
    } catch (e) {
      const text = String(e && e.message ? e.message : e).slice(0, ${SLOT - MESSAGE - 1});
      for (let i = 0; i < text.length; i++) c[${MESSAGE} + i] = text.charCodeAt(i);
      c[${MESSAGE} + text.length] = 0;
      c[${STATUS}] = 1;
    }
    Atomics.store(c, ${DONE}, seen);
    Atomics.notify(c, ${DONE});
  }
  if (node) port.close();
  else self.close();
};
if (node) port.once('message', start);
else self.onmessage = (e) => start(e.data);
`;
