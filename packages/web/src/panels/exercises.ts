/**
 * The exercises panel: a worked example or an exercise for a network the user chooses (what
 * `backprop example` makes, by the same code: @backprop/mlp/example), its blanks filled in the page
 * and graded by the checker (what `backprop check` does). The form and the answers live in the URL.
 */
import { checkSource, summarize } from '@backprop/mlp/check';
import { activationNames, exampleLosses, exampleText, type ExampleArgs } from '@backprop/mlp/example';
import type { PanelState } from '../main.ts';
import { el, verdictText } from '../ui.ts';

/** The form's fields: name (in the URL, and `backprop example`'s flag), label, control, default. */
const fields: { name: string; label: string; input: () => HTMLInputElement | HTMLSelectElement; value: string }[] = [
  { name: 'layers', label: 'Layer sizes, inputs first', input: () => el('input', { type: 'text', size: '10' }), value: '2,2,1' },
  { name: 'activation', label: 'Hidden activation', input: () => select(activationNames), value: 'sigmoid' },
  { name: 'loss', label: 'Loss', input: () => select(exampleLosses), value: 'mse' },
  { name: 'output', label: 'Output activation', input: () => select(['default', 'linear', ...activationNames]), value: 'default' },
  { name: 'lr', label: 'Learning rate', input: () => el('input', { type: 'number', step: 'any', min: '0' }), value: '0.5' },
  { name: 'seed', label: 'Seed of the numbers', input: () => el('input', { type: 'number', min: '0', step: '1' }), value: '1' },
  { name: 'digits', label: 'Significant digits', input: () => el('input', { type: 'number', min: '1', max: '12', step: '1' }), value: '4' },
];
const checkboxes = [
  { name: 'exercise', label: 'An exercise (blanks to fill)', value: true },
  { name: 'matrix', label: "Matrix form (the paper's §2.1)", value: false },
  { name: 'from-paper', label: "The paper's Figures 3-4 numbers (2-2-1, sigmoid, mse)", value: false },
];

function select(options: readonly string[]): HTMLSelectElement {
  return el(
    'select',
    {},
    options.map((o) => el('option', { value: o }, [o])),
  );
}

/** The form's values as `backprop example`'s arguments. */
function argsOf(v: URLSearchParams): ExampleArgs {
  const paper = v.get('from-paper') === '1';
  return {
    layers: paper ? undefined : v.get('layers') || undefined,
    activation: paper ? undefined : (v.get('activation') as ExampleArgs['activation']),
    loss: paper ? undefined : (v.get('loss') as ExampleArgs['loss']),
    output: v.get('output') === 'default' ? undefined : (v.get('output') as ExampleArgs['output']),
    lr: Number(v.get('lr')),
    seed: Number(v.get('seed')),
    digits: Number(v.get('digits')),
    'from-paper': paper,
    exercise: v.get('exercise') === '1',
    matrix: v.get('matrix') === '1',
  };
}

export function mount(root: HTMLElement, state: PanelState): void {
  const given = new URLSearchParams(state.value);
  // novalidate: a bad field gets the CLI's message for its flag, not the browser's bubble.
  const form = el('form', { class: 'example-form', 'aria-label': 'the network of the example', novalidate: '' });
  const controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
  for (const f of fields) {
    const input = f.input();
    input.id = `ex-${f.name}`;
    input.name = f.name;
    input.value = given.get(f.name) ?? f.value;
    controls.set(f.name, input);
    form.append(el('label', { for: input.id }, [`${f.label} `, el('span', { class: 'muted' }, [`(--${f.name})`])]), input);
  }
  const boxes = new Map<string, HTMLInputElement>();
  for (const c of checkboxes) {
    const box = el('input', { type: 'checkbox', id: `ex-${c.name}`, name: c.name });
    box.checked = given.has(c.name) ? given.get(c.name) === '1' : c.value;
    boxes.set(c.name, box);
    form.append(el('label', { for: box.id, class: 'check' }, [box, ` ${c.label}`]));
  }
  const generate = el('button', { type: 'submit', class: 'primary', id: 'generate' }, ['Make it']);
  form.append(el('div', { class: 'actions' }, [generate]));
  const message = el('p', { class: 'error', role: 'alert' });
  const sheet = el('div', { class: 'sheet' });
  root.append(
    el('h2', {}, ['Worked examples and exercises']),
    el('p', { class: 'muted' }, [
      'One step of gradient descent by hand on a small network, as ',
      el('code', {}, ['backprop example']),
      ' writes it: a worked example with every value, or an exercise to fill in and grade here.',
    ]),
    form,
    message,
    sheet,
  );

  const values = () => {
    const v = new URLSearchParams();
    for (const [name, input] of controls) v.set(name, input.value);
    for (const [name, box] of boxes) v.set(name, box.checked ? '1' : '0');
    return v;
  };
  let answers = new Map<number, string>(given.has('answers') ? parseAnswers(given.get('answers')!) : []);
  const save = () => {
    const v = values();
    if (answers.size) v.set('answers', [...answers].map(([line, a]) => `${line}:${a}`).join(';'));
    state.set(v.toString());
  };
  const make = () => {
    message.textContent = '';
    let text: string;
    try {
      text = exampleText(argsOf(values()));
    } catch (e) {
      message.textContent = (e as Error).message;
      sheet.replaceChildren();
      return;
    }
    showSheet(text, sheet, answers, (a) => {
      answers = a;
      save();
    });
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    answers = new Map();
    save();
    make();
  });
  if (state.value) make();
}

/** `3:0.65;5:0.1` -> line 3's answer 0.65, line 5's 0.1. */
function parseAnswers(text: string): [number, string][] {
  return text
    .split(';')
    .map((pair) => pair.split(':'))
    .filter(([line, a]) => Number.isInteger(Number(line)) && a !== undefined)
    .map(([line, a]) => [Number(line), a]);
}

/**
 * The example's text, line by line; each blank (`= ?`) an input. "Grade" checks the text with the
 * answers written in (a blank left empty stays `?`), each verdict beside its line.
 */
function showSheet(text: string, sheet: HTMLElement, answers: Map<number, string>, changed: (a: Map<number, string>) => void): void {
  const lines = text.split('\n');
  const inputs = new Map<number, HTMLInputElement>();
  const verdicts = new Map<number, HTMLElement>();
  const rows = lines.map((line, i) => {
    const n = i + 1;
    // `name = ... = ?`, perhaps with a comment after it (the matrix form's `# the column sums`).
    const blank = /^(.*=)\s*\?(\s*#.*)?$/.exec(line);
    if (!blank) return el('div', { class: `row${line.startsWith('#') ? ' muted' : ''}`, 'data-line': String(n) }, [el('code', {}, [line || '\u00a0'])]);
    const name = blank[1].split('=')[0].trim();
    const input = el('input', { type: 'text', size: '14', 'aria-label': `the value of ${name} (line ${n})`, 'data-line': String(n) });
    input.value = answers.get(n) ?? '';
    inputs.set(n, input);
    const verdict = el('span', { class: 'verdict', 'data-line': String(n) });
    verdicts.set(n, verdict);
    const comment = blank[2] ? [el('code', { class: 'muted' }, [blank[2]])] : [];
    return el('div', { class: 'row blank', 'data-line': String(n) }, [el('code', {}, [`${blank[1]} `]), input, ...comment, ' ', verdict]);
  });
  const score = el('p', { class: 'summary', id: 'score', role: 'status' });
  const grade = el('button', { type: 'button', class: 'primary', id: 'grade' }, ['Grade']);
  const answer = (n: number) => inputs.get(n)?.value.trim();
  // Each answer in place of its ?, a comment after it kept.
  const filled = () =>
    lines.map((line, i) => (answer(i + 1) ? line.replace(/\?(\s*#.*)?$/, (_, comment) => `${answer(i + 1)}${comment ?? ''}`) : line)).join('\n');
  const toCheck = el('a', { class: 'to-check' }, ['Open in the check panel']);
  const link = () => toCheck.setAttribute('href', `#check=${encodeURIComponent(filled())}`);
  for (const input of inputs.values()) {
    input.addEventListener('input', () => {
      const a = new Map<number, string>();
      for (const [n, i] of inputs) if (i.value.trim()) a.set(n, i.value.trim());
      changed(a);
      link();
    });
  }
  grade.addEventListener('click', () => {
    for (const v of verdicts.values()) (v.textContent = ''), (v.className = 'verdict');
    let report;
    try {
      report = checkSource(filled()).report;
    } catch (e) {
      score.className = 'summary error';
      score.textContent = (e as Error).message;
      return;
    }
    for (const v of report.verdicts) {
      const span = verdicts.get(v.line);
      if (!span) continue;
      span.className = `verdict verdict-${v.verdict}`;
      span.textContent = v.verdict === 'blank' ? 'not answered' : verdictText(v);
    }
    score.className = 'summary';
    score.textContent = summarize(report);
  });
  link();
  sheet.replaceChildren(el('div', { class: 'lines' }, rows), el('div', { class: 'actions' }, inputs.size ? [grade, ' ', toCheck] : [toCheck]), score);
}
