/**
 * The draw panel: a digit drawn with the mouse, a finger or a pen (pointer events), made into a
 * 28x28 image as MNIST's were (training/digit.ts), and the ten scores the trained network gives it.
 * The network is the train panel's (as it is now: a run in progress scores with the weights it has
 * reached); with none, a small one (784-100-10) trains here for a few seconds first. Without a
 * pointer, an MNIST test image is loaded by its number (typed in a field) in place of a drawing. The
 * image the network sees lives in the URL (#draw=784 hex digits).
 */
import type { PanelState } from '../main.ts';
import { fetchSplit } from '../training/data.ts';
import { hexToPixels, mnistPixels, pixelsToHex } from '../training/digit.ts';
import type { RunSettings } from '../training/protocol.ts';
import { trainer, type RunRecord } from '../training/trainer.ts';

/** The network trained when the page has none: one epoch over 6000 images, a few seconds. */
export const quickRun: RunSettings = {
  layers: [784, 100, 10],
  activation: 'tanh',
  loss: 'hinge',
  lr: 0.01,
  batchSize: 8,
  epochs: 1,
  init: 'xavier',
  optimizer: 'sgd',
  seed: 1,
  subset: 6000,
};

const SIZE = 280;

export function mount(root: HTMLElement, state: PanelState): () => void {
  root.innerHTML = `
<h2>Draw a digit</h2>
<p>Draw a digit in the square (mouse, finger or pen). It is made into a 28x28 image as MNIST's were (its ink scaled into
a 20x20 box, centred by its centre of mass), and the network trained in the <a href="#train">train panel</a> scores it.</p>
<div style="display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start">
<div>
<canvas class="pad" width="${SIZE}" height="${SIZE}" style="border:2px solid #4a4a4a;background:#ffffff;touch-action:none;cursor:crosshair" aria-label="drawing pad: draw a digit with the mouse or a finger"></canvas>
<p><button type="button" data-action="clear">Clear</button></p>
<form class="load-form" novalidate><label>Or an MNIST test image, number (0 to 9999) <input id="draw-index" name="index" type="number" min="0" max="9999" step="1" value="0" inputmode="numeric" style="width:6rem"></label>
<button type="submit">Load</button></form>
<p class="loaded" aria-live="polite"></p>
</div>
<figure style="margin:0"><canvas class="seen" width="112" height="112" style="border:1px solid #8a8a8a;image-rendering:pixelated;background:#000000"></canvas>
<figcaption>What the network sees (28x28)</figcaption></figure>
<div><p class="prediction" aria-live="polite" style="font-size:1.4rem;margin-top:0">Draw a digit.</p>
<table class="scores"><thead><tr><th>digit</th><th>score</th><th></th></tr></thead><tbody></tbody></table></div>
</div>
<p class="network muted"></p>`;
  const pad = root.querySelector<HTMLCanvasElement>('.pad')!;
  const seen = root.querySelector<HTMLCanvasElement>('.seen')!;
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const prediction = root.querySelector<HTMLParagraphElement>('.prediction')!;
  const network = root.querySelector<HTMLParagraphElement>('.network')!;
  const loaded = root.querySelector<HTMLParagraphElement>('.loaded')!;
  let pixels: Float32Array | null = hexToPixels(state.value);

  const showSeen = () => {
    const s = seen.getContext('2d')!;
    const image = s.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(255 * (pixels?.[i] ?? 0));
      image.data.set([v, v, v, 255], 4 * i);
    }
    const tmp = document.createElement('canvas');
    tmp.width = tmp.height = 28;
    tmp.getContext('2d')!.putImageData(image, 0, 0);
    s.imageSmoothingEnabled = false;
    s.drawImage(tmp, 0, 0, seen.width, seen.height);
  };

  let asked = 0;
  const score = async () => {
    if (!pixels) return;
    const mine = ++asked;
    // Never in place of a run of the train panel: only when the tab has started none.
    if (!trainer.run) {
      trainer.start(quickRun);
      network.textContent = 'No network has been trained in this tab yet: a small one (784-100-10, 6000 images, one epoch) is training now.';
    }
    // null until the run's network exists (its data loading): the scores come with its progress (below).
    const scores = await trainer.scores(pixels);
    if (mine !== asked || !scores) return;
    const best = scores.indexOf(Math.max(...scores));
    prediction.textContent = `Prediction: ${best}`;
    root.dataset.prediction = String(best);
    const top = Math.max(...scores.map(Math.abs), 1e-9);
    root.querySelector('.scores tbody')!.replaceChildren(
      ...scores.map((v, d) => {
        const tr = document.createElement('tr');
        if (d === best) tr.style.fontWeight = 'bold';
        const bar = `<span style="display:inline-block;height:0.8rem;width:${(60 * Math.abs(v)) / top}px;background:${v < 0 ? '#a4160b' : '#0b5394'}"></span>`;
        tr.innerHTML = `<td>${d}</td><td class="mono">${v.toFixed(3)}</td><td style="width:64px">${bar}</td>`;
        return tr;
      }),
    );
  };

  const fromPad = () => {
    const { data } = ctx.getImageData(0, 0, SIZE, SIZE);
    const ink = new Float32Array(SIZE * SIZE);
    for (let i = 0; i < ink.length; i++) ink[i] = data[4 * i + 3] / 255; // strokes are drawn opaque on a transparent pad
    pixels = mnistPixels(ink, SIZE);
    state.set(pixels ? pixelsToHex(pixels) : '');
    loaded.textContent = ''; // drawn on: no longer the test image it may have started from
    delete root.dataset.loaded;
    showSeen();
    void score();
  };

  // A restored drawing or a loaded image: the 28x28 image, blown up on the pad (drawing on goes on from it).
  const paint = () => {
    ctx.clearRect(0, 0, SIZE, SIZE);
    if (!pixels) return;
    const cell = SIZE / 28;
    for (let i = 0; i < 784; i++) {
      if (!pixels[i]) continue;
      ctx.fillStyle = `rgba(0,0,0,${pixels[i]})`;
      ctx.fillRect((i % 28) * cell, Math.floor(i / 28) * cell, cell, cell);
    }
  };
  paint();
  showSeen();
  void score();

  // An MNIST test image by its number: the keyboard's way to a digit (the pad needs a pointer). The
  // 16 grey levels the link holds are what the network sees, so that the link gives the same scores.
  let test: ReturnType<typeof fetchSplit> | undefined;
  const index = root.querySelector<HTMLInputElement>('#draw-index')!;
  root.querySelector('form.load-form')!.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = Number(index.value);
    if (index.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 9999) {
      loaded.textContent = index.value.trim()
        ? `${index.value.trim()}: the test images are numbered 0 to 9999; type one of those`
        : 'Type the number of a test image, 0 to 9999.';
      return;
    }
    loaded.textContent = 'Loading the MNIST test images...';
    test ??= fetchSplit(new URL('mnist/', location.href).href, 't10k');
    let images: Awaited<typeof test>;
    try {
      images = await test;
    } catch (err) {
      test = undefined; // fetched again next time
      loaded.textContent = `the MNIST test images could not be loaded: ${(err as Error).message}`;
      return;
    }
    const raw = images.images.subarray(784 * n, 784 * (n + 1));
    pixels = hexToPixels(pixelsToHex(Float32Array.from(raw, (b) => b / 255)));
    state.set(pixelsToHex(pixels!));
    paint();
    showSeen();
    loaded.textContent = `MNIST test image ${n}, labelled ${images.labels[n]}.`;
    root.dataset.loaded = String(n);
    void score();
  });

  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.lineWidth = 20;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.strokeStyle = '#000000';
    ctx.beginPath();
    ctx.moveTo(...(at(e) as [number, number]));
    ctx.lineTo(...(at(e) as [number, number]));
    ctx.stroke();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.lineTo(...(at(e) as [number, number]));
    ctx.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    fromPad();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  root.querySelector('button[data-action="clear"]')!.addEventListener('click', () => {
    pixels = null;
    paint();
    state.set('');
    loaded.textContent = '';
    delete root.dataset.loaded;
    showSeen();
    prediction.textContent = 'Draw a digit.';
    delete root.dataset.prediction;
    root.querySelector('.scores tbody')!.replaceChildren();
  });

  // While the network trains, the drawing's scores follow it.
  let last = -1;
  const stopListening = trainer.listen((run: RunRecord) => {
    network.textContent = `Scored by ${run.settings.model === 'lenet' ? 'LeNet-5' : `${run.settings.layers.join('-')} (${run.settings.activation}, ${run.settings.loss})`} after ${run.losses.length} iterations on ${run.trainImages || run.settings.subset} images (${run.status}).`;
    if (run.losses.length !== last) {
      last = run.losses.length;
      void score();
    }
  });
  return stopListening;
}
