/**
 * The train panel: the paper's MLP trained on MNIST in a Web Worker (training/mnist-worker.ts) with
 * @backprop/mlp's `train`, single-threaded, with live loss and accuracy plots, stop and continue.
 * The settings are `backprop train`'s and live in the URL (#train=layers=...&seed=...); the same
 * settings give the same bits as the CLI command shown under the form.
 */
import { activationNames, initNames, lossNames, optimizerNames } from '@backprop/mlp/core';
import type { PanelState } from '../main.ts';
import { drawPlot, downsample } from '../training/plot.ts';
import type { RunSettings } from '../training/protocol.ts';
import { cliCommand, trainer, type RunRecord } from '../training/trainer.ts';

/**
 * The panel's defaults: the paper's network and step (784-800-100-10, tanh, hinge, SGD at 0.01 in
 * batches of 8) on the first 3000 images for 3 epochs, with Glorot's initialisation: the paper's
 * N(0,1) x 1e-3 leaves the tanh units near zero, and the first epochs near chance (11% here).
 */
export const defaults: RunSettings = {
  layers: [784, 800, 100, 10],
  activation: 'tanh',
  loss: 'hinge',
  lr: 0.01,
  batchSize: 8,
  epochs: 3,
  init: 'xavier',
  optimizer: 'sgd',
  seed: 1,
  subset: 3000,
  model: 'mlp',
};

const fields: { key: keyof RunSettings; label: string; choices?: readonly string[] }[] = [
  { key: 'model', label: 'Network', choices: ['mlp', 'lenet'] },
  { key: 'layers', label: 'Layers' },
  { key: 'activation', label: 'Activation', choices: activationNames },
  { key: 'loss', label: 'Loss', choices: lossNames },
  { key: 'init', label: 'Initialisation', choices: initNames },
  { key: 'optimizer', label: 'Optimiser', choices: optimizerNames },
  { key: 'lr', label: 'Learning rate' },
  { key: 'batchSize', label: 'Batch size' },
  { key: 'epochs', label: 'Epochs' },
  { key: 'seed', label: 'Seed' },
  { key: 'subset', label: 'Training images (--subset)' },
];

/** The settings in a URL value (a query string), over the defaults; what is not understood is left at its default. */
export function parseSettings(value: string): RunSettings {
  const q = new URLSearchParams(value);
  const s = { ...defaults, layers: [...defaults.layers] };
  const layers = q.get('layers')?.split(',').map(Number);
  if (layers && layers.length >= 2 && layers.every((n) => Number.isInteger(n) && n > 0) && layers[0] === 784 && layers[layers.length - 1] >= 10)
    s.layers = layers;
  const pick = <T extends string>(name: string, choices: readonly T[], fallback: T): T => (choices.includes(q.get(name) as T) ? (q.get(name) as T) : fallback);
  s.model = pick('model', ['mlp', 'lenet'] as const, 'mlp');
  s.activation = pick('activation', activationNames, s.activation);
  s.loss = pick('loss', lossNames, s.loss);
  s.init = pick('init', initNames, s.init);
  s.optimizer = pick('optimizer', optimizerNames, s.optimizer);
  const number = (name: 'lr' | 'batchSize' | 'epochs' | 'seed' | 'subset', integer: boolean) => {
    const v = Number(q.get(name) ?? NaN);
    if (Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v))) s[name] = v;
  };
  number('lr', false);
  for (const k of ['batchSize', 'epochs', 'seed', 'subset'] as const) number(k, true);
  return s;
}

export const settingsValue = (s: RunSettings): string =>
  new URLSearchParams(Object.entries(s).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])).toString();

/** What is wrong with a form's settings, in one line naming the field and the way out; undefined if nothing. */
function problem(form: Record<string, string>): string | undefined {
  const layers = form.layers.split(',').map((x) => Number(x.trim()));
  if (layers.length < 2 || !layers.every((n) => Number.isInteger(n) && n > 0)) return `Layers "${form.layers}": expected sizes like 784,800,100,10`;
  if (layers[0] !== 784) return `Layers: MNIST's images have 784 pixels (28x28), so the first layer must be 784`;
  if (layers[layers.length - 1] < 10) return 'Layers: MNIST has 10 classes, so the last layer must be at least 10';
  if (!(Number(form.lr) > 0)) return `Learning rate "${form.lr}": expected a positive number such as 0.01`;
  for (const k of ['batchSize', 'epochs', 'seed', 'subset']) {
    const v = Number(form[k]);
    if (!(Number.isInteger(v) && v > 0)) return `${fields.find((f) => f.key === k)!.label} "${form[k]}": expected a positive whole number`;
  }
  if (Number(form.subset) > 60000) return 'Training images: MNIST has 60000; ask for at most that many';
  return undefined;
}

const pct = (x: number | undefined) => (x === undefined ? '' : `${(100 * x).toFixed(1)}%`);

export function mount(root: HTMLElement, state: PanelState): () => void {
  const settings = parseSettings(state.value);
  root.innerHTML = `
<h2>Train on MNIST</h2>
<p>The paper's network, trained in a Web Worker of this tab by the code of <code>backprop train</code>, one thread, on
the first images of MNIST (fetched once, then kept by the browser). The same settings give the same bits as the command
below the form: every loss, accuracy and weight.</p>
<form class="train-form" style="display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0.5rem 1rem;max-width:60rem"></form>
<p style="margin:0.75rem 0"><button type="button" class="primary" data-action="train">Train</button>
<button type="button" data-action="stop" disabled>Stop</button>
<button type="button" data-action="continue" disabled>Continue</button></p>
<p class="problem error" role="alert"></p>
<p><code class="cli"></code></p>
<p class="status" aria-live="polite">Not trained yet.</p>
<progress class="progress" max="1" value="0" style="width:min(40rem,100%)" aria-label="training progress"></progress>
<div style="display:flex;flex-wrap:wrap;gap:1rem">
<figure><svg class="loss-plot" role="img" aria-label="loss of every iteration"></svg><figcaption>Loss of each iteration (means of runs of iterations)</figcaption></figure>
<figure><svg class="accuracy-plot" role="img" aria-label="accuracy after every epoch"></svg><figcaption>Accuracy after each epoch</figcaption></figure>
</div>
<table class="epochs"><thead><tr><th>epoch</th><th>mean iteration loss</th><th>train loss</th><th>train accuracy</th><th>test loss</th><th>test accuracy</th></tr></thead><tbody></tbody></table>`;
  const form = root.querySelector<HTMLFormElement>('.train-form')!;
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  for (const f of fields) {
    const label = document.createElement('label');
    label.style.display = 'flex';
    label.style.flexDirection = 'column';
    label.textContent = f.label;
    const id = `train-${f.key}`;
    label.htmlFor = id;
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.choices) {
      input = document.createElement('select');
      const shown: Record<string, string> = { mlp: 'MLP (the layers below)', lenet: 'LeNet-5 (examples/models/lenet.ts)' };
      for (const c of f.choices) input.append(new Option(shown[c] ?? c, c));
    } else {
      input = document.createElement('input');
      input.type = 'text';
      input.inputMode = f.key === 'layers' ? 'text' : 'decimal';
    }
    input.id = id;
    input.name = f.key;
    const v = settings[f.key];
    input.value = Array.isArray(v) ? v.join(',') : String(v);
    label.append(input);
    form.append(label);
    inputs.set(f.key, input);
  }
  const $ = <T extends Element>(s: string) => root.querySelector<T>(s)!;
  const problemLine = $<HTMLParagraphElement>('.problem');
  const cli = $<HTMLElement>('.cli');
  const read = (): Record<string, string> => Object.fromEntries([...inputs].map(([k, i]) => [k, i.value.trim()]));
  const formSettings = (): RunSettings | undefined => {
    const f = read();
    const wrong = problem(f);
    problemLine.textContent = wrong ?? '';
    if (wrong) return undefined;
    return parseSettings(new URLSearchParams(f).toString());
  };
  const mlpOnly = () => {
    for (const k of ['layers', 'activation', 'init']) inputs.get(k)!.disabled = inputs.get('model')!.value === 'lenet';
  };
  mlpOnly();
  const changed = () => {
    mlpOnly();
    const s = formSettings();
    if (!s) return;
    state.set(settingsValue(s));
    cli.textContent = cliCommand(s);
  };
  form.addEventListener('input', changed);
  form.addEventListener('submit', (e) => e.preventDefault());
  cli.textContent = cliCommand(settings);

  const buttons = (name: string) => $<HTMLButtonElement>(`button[data-action="${name}"]`);
  buttons('train').addEventListener('click', () => {
    const s = formSettings();
    if (s) trainer.start(s);
  });
  buttons('stop').addEventListener('click', () => trainer.stop());
  buttons('continue').addEventListener('click', () => trainer.continue());

  let frame = 0;
  const render = (run: RunRecord) => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => show(run));
  };
  const show = (run: RunRecord) => {
    const s = run.settings;
    const what = s.model === 'lenet' ? 'LeNet-5' : s.layers.join('-');
    const total = run.stepsPerEpoch * s.epochs;
    const iteration = run.losses.length;
    const epoch = Math.min(s.epochs, Math.floor(iteration / Math.max(1, run.stepsPerEpoch)) + 1);
    const where = run.trainImages ? `; training on the first ${run.trainImages} images, testing on the first ${run.testImages}; seed ${s.seed}` : '';
    const said: Record<string, string> = {
      loading: 'Fetching MNIST (once; the browser keeps it)...',
      training: `Training: epoch ${epoch} of ${s.epochs}, iteration ${iteration} of ${total}${where}.`,
      stopped: `Stopped at iteration ${iteration} of ${total}${where}. Continue goes on to the same bits.`,
      done: `Done (${what}): ${s.epochs} epoch${s.epochs === 1 ? '' : 's'}, ${iteration} iterations${where}; test accuracy ${pct(run.epochs.at(-1)?.test.accuracy)}.`,
      diverged: `Diverged: ${run.message ?? ''}`,
      error: `Failed: ${run.message ?? ''}`,
      idle: '',
    };
    $<HTMLParagraphElement>('.status').textContent = said[run.status];
    root.dataset.status = run.status;
    const progress = $<HTMLProgressElement>('.progress');
    progress.max = Math.max(1, total);
    progress.value = iteration;
    buttons('stop').disabled = run.status !== 'training' && run.status !== 'loading';
    buttons('continue').disabled = run.status !== 'stopped';
    drawPlot($<SVGSVGElement>('.loss-plot'), [{ label: `${s.loss} loss`, colour: '#0b5394', points: downsample(run.losses, 300) }], {
      x: 'iteration',
      y: 'loss',
      xMax: total,
    });
    const acc = (set: 'train' | 'test') => run.epochs.map((e): [number, number] => [e.epoch, e[set].accuracy ?? NaN]);
    drawPlot(
      $<SVGSVGElement>('.accuracy-plot'),
      [
        { label: 'training images', colour: '#0b5394', points: acc('train'), dots: true },
        { label: 'test images', colour: '#a4160b', points: acc('test'), dots: true },
      ],
      { x: 'epoch', y: 'accuracy', yMin: 0, yMax: 1, xMax: s.epochs },
    );
    $<HTMLTableSectionElement>('.epochs tbody').replaceChildren(
      ...run.epochs.map((e) => {
        const tr = document.createElement('tr');
        for (const v of [
          String(e.epoch),
          e.meanIterationLoss.toFixed(4),
          e.train.loss.toFixed(4),
          pct(e.train.accuracy),
          e.test.loss.toFixed(4),
          pct(e.test.accuracy),
        ]) {
          const td = document.createElement('td');
          td.textContent = v;
          tr.append(td);
        }
        return tr;
      }),
    );
  };
  const stopListening = trainer.listen(render);
  return () => {
    cancelAnimationFrame(frame);
    stopListening();
  };
}
