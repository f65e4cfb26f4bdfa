/** What the `backprop` process does before and around any command: set up once, in the entry point. */

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
