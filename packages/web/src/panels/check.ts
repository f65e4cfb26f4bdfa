/**
 * The check panel: a derivation in `backprop check`'s format (or a Markdown write-up with
 * ```derivation blocks), each line's verdict beside it as you type, the checker's table and score,
 * the graph with the verdicts on its nodes, "explain" for a derivative, and the repository's worked
 * examples one click away. The checker is @backprop/mlp/check, the CLI's own, running in the page.
 */
import { checkSource, derivationDrawing, explain, summarize, type CheckReport, type Derivation, type Verdict } from '@backprop/mlp/check';
import type { PanelState } from '../main.ts';
import { el, verdictText } from '../ui.ts';

/** Operations past which the graph is not drawn (Graphviz takes long, and the picture is not readable): as `backprop check --graph`. */
const MAX_DRAWN_OPS = 500;
const isMarkdown = (text: string) => /^[ \t>]*(```|~~~)[ \t]*derivation\b/m.test(text);

interface Checked {
  text: string;
  derivation?: Derivation;
  report?: CheckReport;
  error?: { line?: number; message: string };
}

/** Checks a derivation's text (a Markdown file's derivation blocks, on the Markdown's own line numbers). */
async function check(text: string): Promise<Checked> {
  let source = text;
  if (isMarkdown(text)) source = (await import('@backprop/mlp/check/markdown')).derivationOfMarkdown(text).source;
  try {
    const { derivation, report } = checkSource(source);
    return { text, derivation, report };
  } catch (e) {
    const message = (e as Error).message;
    const line = /^line (\d+): /.exec(message);
    return { text, error: { line: line ? Number(line[1]) : undefined, message } };
  }
}

export async function mount(root: HTMLElement, state: PanelState): Promise<() => void> {
  const examples = el('div', { class: 'examples', role: 'group', 'aria-label': 'worked examples' }, [el('span', { class: 'muted' }, ['Worked examples: '])]);
  const editor = el('textarea', { id: 'derivation', wrap: 'off', spellcheck: 'false', 'aria-describedby': 'check-summary' }) as HTMLTextAreaElement;
  const gutter = el('div', { class: 'gutter', 'aria-hidden': 'true' });
  const summary = el('p', { id: 'check-summary', class: 'summary', role: 'status' });
  const table = el('table', { class: 'verdicts' });
  const explainInput = el('input', { id: 'explain-of', type: 'text', placeholder: 'dl/dw5', size: '12' }) as HTMLInputElement;
  const explainButton = el('button', { type: 'button', id: 'explain' }, ['Explain']);
  const explained = el('pre', { class: 'explained', 'aria-live': 'polite', tabindex: '0' });
  const graph = el('figure', { class: 'graph', 'aria-label': "the derivation's graph, each claim's verdict on its node" });
  root.append(
    el('h2', {}, ['Check a derivation']),
    el('p', { class: 'muted' }, [
      'One value or derivative a line (',
      el('code', {}, ['h1 = I1*w1 + b1 = 0.65']),
      ', ',
      el('code', {}, ['dl/do = 2(o - y) = 1.57']),
      '), as ',
      el('code', {}, ['backprop check']),
      ' reads it; each claim is checked as you type. A Markdown write-up is checked in its ',
      el('code', {}, ['```derivation']),
      ' blocks.',
    ]),
    examples,
    el('div', { class: 'editor' }, [el('label', { for: 'derivation', class: 'visually-hidden' }, ['Derivation']), editor, gutter]),
    summary,
    el('details', { open: '' }, [el('summary', {}, ['Every claim, as backprop check prints it']), table]),
    el('div', { class: 'explain' }, [el('label', { for: 'explain-of' }, ['Explain a derivative: ']), explainInput, ' ', explainButton, explained]),
    el('h3', {}, ['The graph']),
    graph,
  );

  let latest: Checked = { text: '' };
  let run = 0;
  let drawTimer: ReturnType<typeof setTimeout> | undefined;
  const update = async () => {
    const mine = ++run;
    const checked = await check(editor.value);
    if (mine !== run) return;
    latest = checked;
    showVerdicts(checked, gutter, summary, table, editor.value.split('\n').length);
    if (!explainInput.value && checked.derivation) explainInput.value = firstDerivative(checked.derivation) ?? '';
    clearTimeout(drawTimer);
    drawTimer = setTimeout(() => void draw(checked, graph).catch((e: unknown) => console.error(e)), 300);
  };
  editor.addEventListener('input', () => {
    state.set(editor.value);
    void update();
  });
  editor.addEventListener('scroll', () => (gutter.scrollTop = editor.scrollTop));
  const doExplain = () => {
    const m = /^d(.+)\/d(.+)$/.exec(explainInput.value.trim());
    if (!latest.derivation) explained.textContent = 'The derivation has an error: fix it first.';
    else if (!m) explained.textContent = `${explainInput.value}: expected a derivative such as dl/dw5`;
    else {
      try {
        explained.textContent = explain(latest.derivation, m[1], m[2]);
      } catch (e) {
        explained.textContent = (e as Error).message.replace(/^--explain /, '');
      }
    }
  };
  explainButton.addEventListener('click', doExplain);
  explainInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') doExplain();
  });

  const load = (text: string) => {
    editor.value = text;
    explainInput.value = '';
    explained.textContent = '';
    return update();
  };
  const index: { file: string; title: string }[] = await (await fetch('./examples/index.json')).json();
  for (const { file, title } of index) {
    const button = el('button', { type: 'button', title, 'data-example': file }, [file]);
    button.addEventListener('click', () => {
      void fetch(`./examples/${file}`)
        .then((r) => r.text())
        .then((text) => {
          state.set(text);
          return load(text);
        });
    });
    examples.append(button, ' ');
  }
  // A link's text, or the paper's worked example to start with (not put in the URL until edited).
  await load(state.value || (await (await fetch('./examples/paper-worked-example.txt')).text()));
  return () => clearTimeout(drawTimer);
}

/** The first derivative the derivation claims (dX/dY), for the explain box. */
function firstDerivative(d: Derivation): string | undefined {
  const s = d.statements.find((x) => x.lhs.kind === 'deriv' && x.lhs.wrt2 === undefined);
  return s && s.lhs.kind === 'deriv' ? `d${s.lhs.of}/d${s.lhs.wrt}` : undefined;
}

/** Each line's verdict in the gutter beside it, the summary, and the table. */
function showVerdicts(c: Checked, gutter: HTMLElement, summary: HTMLElement, table: HTMLElement, lines: number): void {
  const byLine = new Map<number, Verdict>((c.report?.verdicts ?? []).map((v) => [v.line, v]));
  gutter.replaceChildren(
    ...Array.from({ length: lines }, (_, i) => {
      const line = i + 1;
      const v = byLine.get(line);
      if (c.error && c.error.line === line) return el('div', { class: 'line error-line', 'data-line': String(line), title: c.error.message }, ['error']);
      if (!v) return el('div', { class: 'line', 'data-line': String(line) }, ['\u00a0']);
      const text = verdictText(v);
      return el('div', { class: `line verdict-${v.verdict}`, 'data-line': String(line), title: text }, [text]);
    }),
  );
  if (c.error) {
    summary.className = 'summary error';
    summary.textContent = c.error.message;
    table.replaceChildren();
    return;
  }
  summary.className = `summary${c.report!.counts.wrong ? ' has-wrong' : ''}`;
  summary.textContent = summarize(c.report!);
  const head = el(
    'tr',
    {},
    ['line', 'claim', 'claimed', 'computed', 'verdict'].map((h) => el('th', { scope: 'col' }, [h])),
  );
  const rows = c.report!.verdicts.map((v) =>
    el('tr', { class: `verdict-${v.verdict}` }, [
      el('td', { class: 'num' }, [String(v.line)]),
      el('td', { class: 'mono' }, [v.expression ? `${v.claim} = ${v.expression}` : v.claim]),
      el('td', { class: 'mono' }, [v.claimed]),
      el('td', { class: 'mono' }, [v.computed]),
      el('td', {}, [verdictText(v)]),
    ]),
  );
  table.replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
}

/** The derivation's graph (Graphviz, loaded on first use), each claim's verdict on its node. */
async function draw(c: Checked, figure: HTMLElement): Promise<void> {
  if (!c.derivation || !c.report) {
    figure.replaceChildren(el('p', { class: 'muted' }, ['The graph is drawn once the derivation has no error.']));
    return;
  }
  const drawing = derivationDrawing(c.derivation, c.report, summarize(c.report));
  if (drawing.records.length > MAX_DRAWN_OPS) {
    figure.replaceChildren(el('p', {}, [`The derivation has ${drawing.records.length} operations: a picture of more than ${MAX_DRAWN_OPS} is not readable.`]));
    return;
  }
  if (drawing.records.length === 0) {
    figure.replaceChildren(el('p', { class: 'muted' }, ['Nothing is computed yet: the graph shows the operations of the derivation.']));
    return;
  }
  const svg = await c.derivation.tape.toSvg(drawing);
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const picture = document.importNode(doc.documentElement, true);
  picture.setAttribute('role', 'img');
  picture.setAttribute('aria-label', `the derivation's graph: ${summarize(c.report)}`);
  figure.replaceChildren(picture);
}
