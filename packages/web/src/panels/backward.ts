/**
 * The backward panel: a small network's computation graph with its values, the backward pass
 * stepped record by record from the loss back to the inputs (buttons, or, with the focus in the
 * panel outside its form, the arrow keys, Home and End), each tensor's gradient appearing as the pass reaches it; beside it, every parameter's
 * gradient by the tape and by an independent account (mlp's hand-derived pass, or the paper's
 * printed values for its Figures 3-4). The network and the step live in the URL.
 */
import { activationNames, lossNames } from '@backprop/mlp/core';
import type { Tensor } from '@backprop/graph';
import { gradientsAfter, parseSetup, recordPass, type Pass, type Setup } from '../backward/pass.ts';
import type { PanelState } from '../main.ts';

const fmt = (x: number) => {
  const s = Number(x.toPrecision(6)).toString();
  return s === '-0' ? '0' : s;
};
const list = (v: ArrayLike<number>) => (v.length === 1 ? fmt(v[0]) : `[${Array.from(v, fmt).join(', ')}]`);

/** Whether the independent account agrees: to 1e-12 (relative) by hand, to the printed digits (1e-5) for the paper. */
function agrees(tape: number[], other: number[], paper: boolean): boolean {
  return tape.every((t, i) => Math.abs(t - other[i]) <= (paper ? 1e-5 : 1e-12 * Math.max(1, Math.abs(t))));
}

export function mount(root: HTMLElement, state: PanelState): Promise<void> {
  const start = parseSetup(state.value);
  root.innerHTML = `
<h2>Watch one backward pass</h2>
<p>The tape records the forward pass; the backward pass walks its records in reverse, from the loss back to the inputs,
each op applying its chain rule to the gradient of its output and passing a gradient to each of its inputs. Step through
it with the buttons, or, with the focus on a button or the graph, the keys (&larr; &rarr;, Home, End): a tensor's gradient
appears when the pass reaches it.</p>
<form class="backward-form" style="display:flex;flex-wrap:wrap;gap:0.5rem 1rem;align-items:end">
<label style="display:flex;flex-direction:column">Network<select id="backward-network" name="network">
<option value="paper">The paper's Figures 3-4 (2-2-1, sigmoid, squared error)</option>
<option value="mlp">A network of your choice</option></select></label>
<label style="display:flex;flex-direction:column">Layers (up to 4 units each)<input id="backward-layers" name="layers" size="10"></label>
<label style="display:flex;flex-direction:column">Activation<select id="backward-activation" name="activation">${activationNames.map((a) => `<option>${a}</option>`).join('')}</select></label>
<label style="display:flex;flex-direction:column">Loss<select id="backward-loss" name="loss">${lossNames.map((a) => `<option>${a}</option>`).join('')}</select></label>
<label style="display:flex;flex-direction:column">Seed<input id="backward-seed" name="seed" size="5" inputmode="numeric"></label>
</form>
<p class="caption muted"></p>
<p><button type="button" data-action="first">Start</button>
<button type="button" data-action="back">&larr; Back</button>
<button type="button" class="primary" data-action="step">Step &rarr;</button>
<button type="button" data-action="last">To the inputs</button></p>
<p class="step-text" aria-live="polite"></p>
<div style="display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start">
<div class="tape-graph" tabindex="0" role="region" aria-label="the computation graph (scrolls; the arrow keys, Home and End step the pass)" aria-keyshortcuts="ArrowLeft ArrowRight Home End" style="max-width:100%;overflow:auto"></div>
<table class="compare"><caption>Each parameter's gradient</caption><thead><tr><th>parameter</th><th>by the tape</th><th class="other-name"></th><th>agree</th></tr></thead><tbody></tbody></table>
</div>`;
  const $ = <T extends Element>(s: string) => root.querySelector<T>(s)!;
  const input = (name: string) => $<HTMLInputElement | HTMLSelectElement>(`#backward-${name}`);
  input('network').value = start.network;
  input('layers').value = start.layers.join(',');
  input('activation').value = start.activation;
  input('loss').value = start.loss;
  input('seed').value = String(start.seed);

  let setup: Setup = start;
  let pass: Pass = recordPass(setup);
  let step = Math.min(start.step, pass.steps.length);
  let drawn = 0;

  const save = () => {
    const q = new URLSearchParams({
      network: setup.network,
      layers: setup.layers.join(','),
      activation: setup.activation,
      loss: setup.loss,
      seed: String(setup.seed),
      step: String(step),
    });
    state.set(q.toString());
  };

  const render = async () => {
    const mine = ++drawn;
    const known = gradientsAfter(pass, step);
    const current = step > 0 ? pass.steps[step - 1] : undefined;
    const fresh = new Set<Tensor>(current ? current.passed.map(([t]) => t) : [pass.loss]);
    const name = (t: Tensor) => pass.names.get(t) ?? t.madeBy ?? 'a tensor';
    // The step's text.
    const total = pass.steps.length;
    $<HTMLParagraphElement>('.step-text').textContent = current
      ? `Step ${step} of ${total}: ${current.record.op.name}${current.record.op.rule ? ` (${current.record.op.rule})` : ''} takes dl/d${name(current.record.out)} = ${list(current.grad.toFlatArray())} and passes ${current.passed.map(([t, g]) => `dl/d${name(t)} = ${list(g.toFlatArray())}`).join(' and ')}.`
      : `Step 0 of ${total}: the forward pass is done; the loss l = ${fmt(pass.loss.item())}, and dl/dl = 1.`;
    root.dataset.step = String(step);
    // A button the step disables (End on "To the inputs") would drop the focus out of the panel, and the keys with it: the graph takes it.
    const focused = document.activeElement;
    $<HTMLButtonElement>('button[data-action="back"]').disabled = $<HTMLButtonElement>('button[data-action="first"]').disabled = step === 0;
    $<HTMLButtonElement>('button[data-action="step"]').disabled = $<HTMLButtonElement>('button[data-action="last"]').disabled = step === total;
    if (focused instanceof HTMLButtonElement && focused.disabled && root.contains(focused)) $<HTMLDivElement>('.tape-graph').focus();
    // The table: the tape's column fills in as the pass reaches each parameter.
    $('.other-name').textContent = pass.otherName;
    $<HTMLParagraphElement>('.caption').textContent = pass.caption;
    $('.compare tbody').replaceChildren(
      ...pass.compared.map((c, i) => {
        const tr = document.createElement('tr');
        const reached = known.get(pass.params[i]);
        tr.dataset.param = c.name;
        const cells = [
          c.name,
          reached ? list(reached) : '...',
          c.other ? list(c.other) : 'not printed',
          reached && c.other ? (agrees(reached, c.other, setup.network === 'paper') ? 'yes' : 'NO') : '',
        ];
        for (const v of cells) {
          const td = document.createElement('td');
          td.className = 'mono';
          td.textContent = v;
          tr.append(td);
        }
        if (reached) tr.dataset.tape = reached.join(',');
        if (reached && c.other) tr.dataset.agree = String(agrees(reached, c.other, setup.network === 'paper'));
        if (fresh.has(pass.params[i])) tr.style.background = '#fff1bf';
        return tr;
      }),
    );
    // The graph, with the gradients known after this step (the step's own in yellow, earlier ones in green).
    const svg = await pass.tape.toSvg({
      names: pass.names,
      maxValues: 8,
      direction: 'LR',
      annotate: (t) => {
        const g = known.get(t);
        if (!g) return undefined;
        return { lines: [`grad ${list(g)}`], fill: fresh.has(t) ? '#fff1bf' : '#d3f0da' };
      },
    });
    if (mine !== drawn) return;
    const graph = $<HTMLDivElement>('.tape-graph');
    graph.innerHTML = svg;
    graph.querySelector('svg')?.setAttribute('role', 'img');
    graph.querySelector('svg')?.setAttribute('aria-label', `the computation graph after step ${step} of the backward pass`);
    root.dataset.drawn = String(step);
  };

  const go = (to: number) => {
    step = Math.max(0, Math.min(pass.steps.length, to));
    save();
    return render();
  };
  const changed = () => {
    const q = new URLSearchParams(['network', 'layers', 'activation', 'loss', 'seed'].map((k) => [k, input(k).value.trim()]));
    setup = parseSetup(q.toString());
    for (const k of ['layers', 'activation', 'loss', 'seed']) input(k).disabled = setup.network === 'paper';
    pass = recordPass(setup);
    return go(0);
  };
  $('form').addEventListener('change', () => void changed());
  $('form').addEventListener('submit', (e) => e.preventDefault());
  for (const k of ['layers', 'activation', 'loss', 'seed']) input(k).disabled = setup.network === 'paper';
  const actions: Record<string, () => number> = { first: () => 0, back: () => step - 1, step: () => step + 1, last: () => pass.steps.length };
  for (const [action, to] of Object.entries(actions)) $(`button[data-action="${action}"]`).addEventListener('click', () => void go(to()));
  const keys: Record<string, string> = { ArrowRight: 'step', ArrowLeft: 'back', Home: 'first', End: 'last' };
  const onKey = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    if (target?.closest?.('input, select, textarea') || !keys[e.key] || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    void go(actions[keys[e.key]]());
  };
  // On the panel: the keys work where the focus is in it (a button, the graph), but in a field of the form;
  // elsewhere on the page (the nav, the page itself) they do what they always do. A new panel is a new root: nothing to remove.
  root.addEventListener('keydown', onKey);
  return render();
}
