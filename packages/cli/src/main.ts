/**
 * The `backprop` command line. Each command's module (and what it imports: the graph and mlp
 * packages, vega for figures) is loaded only when that command runs or shows its help, so that
 * `backprop --help` and every command start without loading what they do not use.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { exitQuietlyOnClosedPipe, runFromUserDirectory, withDefaultSignals } from './process.ts';
import { version } from './version.ts';

exitQuietlyOnClosedPipe();
runFromUserDirectory();

/** What main needs of a command's module: its options and its action. */
interface CommandModule {
  options: (y: Argv) => Argv;
  // The parsed arguments' type is known inside the module only.
  run: (args: never) => Promise<number> | number;
}

/**
 * A command whose module is imported when it is chosen; its errors become one line on stderr and
 * exit status 2.
 */
function command(name: string, describe: string, load: () => Promise<CommandModule>) {
  return [
    name,
    describe,
    async (y: Argv) => (await withDefaultSignals(load)).options(y),
    async (args: unknown) => {
      try {
        process.exitCode = await (await withDefaultSignals(load)).run(args as never);
      } catch (e) {
        console.error(`backprop: ${(e as Error).message}`);
        process.exitCode = 2;
      }
    },
  ] as const;
}

const commands = [
  command('train', "train a network (the paper's final network by default)", async () => {
    const m = await import('./commands/train.ts');
    return { options: m.trainOptions, run: m.trainCommand };
  }),
  command('evaluate <model>', 'accuracy, loss and confusion matrix of a trained model', async () => {
    const m = await import('./commands/model.ts');
    return { options: m.evaluateOptions, run: m.evaluateCommand };
  }),
  command('predict <model> <input>', 'predict the digits of an IDX file or of a PNG/PGM image', async () => {
    const m = await import('./commands/model.ts');
    return { options: m.predictOptions, run: m.predictCommand };
  }),
  command('experiment [name]', "run one of the paper's experiments (or all), or a sweep file, with its figures and tables", async () => {
    const m = await import('./commands/experiment.ts');
    return { options: m.experimentOptions, run: m.experimentCommand };
  }),
  command('report <dirs..>', 'tables, figures and a self-contained HTML page of a directory of runs (several: merged)', async () => {
    const m = await import('./commands/report.ts');
    return { options: m.reportOptions, run: m.reportCommand };
  }),
  command('compare <runs..>', 'a table and a figure of the curves of any run directories', async () => {
    const m = await import('./commands/compare.ts');
    return { options: m.compareOptions, run: m.compareCommand };
  }),
  command('check <file>', 'check a hand calculation line by line (ok, rounding or wrong)', async () => {
    const m = await import('./commands/check.ts');
    return { options: m.checkOptions, run: m.checkCommand };
  }),
  command('example', "write a worked example (or an exercise) of one gradient step on a small network, in check's format", async () => {
    const m = await import('./commands/example.ts');
    return { options: m.exampleOptions, run: m.exampleCommand };
  }),
  command('gradcheck', 'compare hand-derived, tape and finite-difference gradients of a network (or --op)', async () => {
    const m = await import('./commands/gradcheck.ts');
    return { options: m.gradcheckOptions, run: m.gradcheckCommand };
  }),
];

let cli = yargs(hideBin(process.argv)).scriptName('backprop').usage('$0 <command> [options]');
for (const c of commands) cli = cli.command(...c);
await cli
  .demandCommand(1, 'name a command: backprop --help lists them')
  .strict()
  .fail((message, error) => {
    console.error(`backprop: ${(error?.message ?? message).replace(/\s*\n\s*/g, ' ')} (see backprop --help)`);
    process.exit(2);
  })
  .version(version)
  .help()
  .parseAsync();
