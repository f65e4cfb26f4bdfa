/** The `backprop` command line. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCommand, checkOptions } from './commands/check.ts';
import { gradcheckCommand, gradcheckOptions } from './commands/gradcheck.ts';
import { evaluateCommand, evaluateOptions, predictCommand, predictOptions } from './commands/model.ts';
import { experimentCommand, experimentOptions } from './commands/experiment.ts';
import { reportCommand, reportOptions } from './commands/report.ts';
import { trainCommand, trainOptions } from './commands/train.ts';
import { exitQuietlyOnClosedPipe, runFromUserDirectory } from './process.ts';

exitQuietlyOnClosedPipe();
runFromUserDirectory();

/** Runs a command and turns its errors into one line on stderr and a non-zero exit. */
function action<A>(fn: (args: A) => Promise<number> | number, failureCode = 2) {
  return async (args: A) => {
    try {
      process.exitCode = await fn(args);
    } catch (e) {
      console.error(`backprop: ${(e as Error).message}`);
      process.exitCode = failureCode;
    }
  };
}

await yargs(hideBin(process.argv))
  .scriptName('backprop')
  .usage('$0 <command> [options]')
  .command('train', "train a network (the paper's final network by default)", trainOptions, action(trainCommand))
  .command('evaluate <model>', 'accuracy, loss and confusion matrix of a trained model', evaluateOptions, action(evaluateCommand))
  .command('predict <model> <input>', 'predict the digits of an IDX file or of a PNG/PGM image', predictOptions, action(predictCommand))
  .command('experiment [name]', "run one of the paper's experiments (or all), with its figures and tables", experimentOptions, action(experimentCommand))
  .command('report <dir>', 'write a self-contained HTML page of the experiments in a directory', reportOptions, action(reportCommand))
  .command('check <file>', 'check a hand calculation line by line (ok, rounding or wrong)', checkOptions, action(checkCommand))
  .command('gradcheck', 'compare hand-derived, tape and finite-difference gradients of a network (or --op)', gradcheckOptions, action(gradcheckCommand))
  .demandCommand(1, 'name a command: backprop --help lists them')
  .strict()
  .fail((message, error) => {
    console.error(`backprop: ${(error?.message ?? message).replace(/\s*\n\s*/g, ' ')} (see backprop --help)`);
    process.exit(2);
  })
  .help()
  .parseAsync();
