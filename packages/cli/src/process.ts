/** What the `backprop` process does before and around any command: set up once, in the entry point. */
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { Script, createContext } from 'node:vm';

/** SIGPIPE's exit status (128 + 13): what a Unix tool whose reader went away exits with. */
export const CLOSED_PIPE_STATUS = 141;

/**
 * Writing to a closed pipe (`backprop check FILE | head -1`) ends the process quietly, as `yes |
 * head -1` ends `yes`, instead of an unhandled EPIPE stack trace. Files are left as on a kill:
 * every file is written atomically.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(CLOSED_PIPE_STATUS);
      throw e;
    });
  }
}

/**
 * Relative paths mean what they mean where the user typed the command. `pnpm backprop ...` (and
 * `npm run backprop`) run the root script from the repository root and say in INIT_CWD where they
 * were started; `npx backprop` and `node .../backprop.mjs` keep the directory already. Changing to
 * it here covers every path: arguments, --out/--data/--config/--resume, and defaults such as runs/.
 * Only for the `backprop` script: a test run under `pnpm test` has an INIT_CWD that is not ours.
 */
export function runFromUserDirectory(): void {
  const dir = process.env.INIT_CWD;
  if (process.env.npm_lifecycle_event !== 'backprop' || !dir || dir === process.cwd()) return;
  try {
    process.chdir(dir);
  } catch (e) {
    console.error(`backprop: cannot change to the directory the command was started from (${dir}): ${(e as NodeJS.ErrnoException).code}`);
    process.exit(2);
  }
  // Consumed: the experiment runner's child processes start in this directory already.
  delete process.env.INIT_CWD;
}

/** Every signal a listener can be attached to (SIGKILL and SIGSTOP cannot be caught). */
const catchable = Object.keys(constants.signals).filter((s) => s !== 'SIGKILL' && s !== 'SIGSTOP') as NodeJS.Signals[];

/**
 * Loads a command's module with the signals left to their default action: a listener a library
 * attaches while it loads is removed (proper-lockfile loads signal-exit, whose JavaScript listeners
 * for SIGINT, SIGTERM and others run only when the event loop gets a turn, so that a forward pass
 * that never returns, or a long allocation, could be stopped by SIGKILL alone). With no listener,
 * SIGINT and SIGTERM end the process at once, as kill -9 would: every file on disk is whole (atomic
 * writes) and a dead holder's lock is taken over (lock.ts). Only work that yields (the training
 * loop, the experiment runner) listens for SIGINT, to say how to go on.
 */
export async function withDefaultSignals<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(catchable.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await load();
  } finally {
    for (const s of catchable) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  }
}

const call = new Script('run()');
const context = createContext({ run: null as (() => unknown) | null });

/**
 * Runs `f` so that Ctrl-C stops it even if it never returns (a model file's forward pass with an
 * endless loop): Node's SIGINT watchdog (vm's breakOnSigint) ends the running JavaScript, then the
 * command's own SIGINT listeners run (they say how to go on and exit), or, without one, the process
 * says `interrupted` and exits with status 130. It costs about 0.1 ms a call: for calls that are
 * long or made once, not for every training step (the training loop yields every 0.1 s anyway).
 */
export function interruptible<T>(f: () => T): T {
  const outer = context.run;
  context.run = f;
  try {
    return call.runInContext(context, { breakOnSigint: true }) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
      if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT', 'SIGINT');
      exitInterrupted('\nbackprop: interrupted');
    }
    throw e;
  } finally {
    context.run = outer;
  }
}

/**
 * Says `message` on stderr and exits with Ctrl-C's status, 130. Written with a plain write(2), not
 * through process.stderr: the interrupted JavaScript may have been stopped inside the stream's own
 * code (a forward pass that had just written a line), leaving it believing a write is under way, so
 * that what it is given next waits in its buffer and process.exit drops it (a run's "interrupted
 * during epoch N; ..." went missing that way, now and then).
 */
export function exitInterrupted(message: string | null): never {
  if (message !== null) {
    try {
      writeSync(2, `${message}\n`);
    } catch {
      // stderr closed: nothing to say it on
    }
  }
  process.exit(130);
}
