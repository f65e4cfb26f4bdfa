/**
 * Pictures of a tape, as micrograd's draw_dot and torchviz draw them: the ops and the tensors they
 * read and make, labelled with the op, the shape and (for small tensors) the value and gradient;
 * edges follow the data in black, and those the backward pass runs along carry a red line too,
 * labelled with the gradient that flows back along them. `toDot` writes Graphviz's DOT text;
 * `toSvg` lays it out with Graphviz itself (compiled to WebAssembly: @viz-js/viz, imported on the
 * first call only, so that loading the graph package stays cheap).
 */
import type { Tape, TapeRecord } from './tape.ts';
import { formatShape, Tensor } from './tensor.ts';

export interface DrawOptions {
  /**
   * A one-element output: each tensor it depends on shows d(output)/d(tensor), and the edges the
   * backward pass runs along get a red line beside the black, labelled (for small tensors) with
   * the gradient each carries back.
   */
  backwardFrom?: Tensor;
  /** Names for tensors; otherwise a tensor's own `name`, if it has one. */
  names?: ReadonlyMap<Tensor, string>;
  /** Tensors of at most this many elements show their values and gradients (default 4). */
  maxValues?: number;
  /** Significant digits of the values shown (default 5). */
  digits?: number;
  /** More lines for a tensor's node, and its fill colour (a verdict, an agreement). */
  annotate?: (t: Tensor) => { lines: string[]; fill?: string } | undefined;
  /** The records to draw (default: all of the tape's). */
  records?: readonly TapeRecord[];
  /** A caption above the picture. */
  title?: string;
  /** Left to right (default, as the data flows) or top to bottom. */
  direction?: 'LR' | 'TB';
}

const FORWARD = 'black',
  BACKWARD = '#c0392b';
const FILL = { parameter: '#dbe9f6', constant: '#eeeeee', computed: 'white' };

/** A DOT string literal: quotes and backslashes escaped, lines joined with \n (centred). */
const quote = (lines: string[]) => `"${lines.map((l) => l.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n')}"`;

function formatNumber(x: number, digits: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const s = x.toPrecision(digits);
  return s.includes('e') ? s.replace(/\.?0+e/, 'e') : s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** A small tensor's values, as [[1, 2], [3, 4]]; '' for a large one (or one whose memory was freed). */
function formatValues(t: Tensor, options: DrawOptions): string {
  if (t.released || t.size > (options.maxValues ?? 4)) return '';
  const digits = options.digits ?? 5;
  const v = t.toFlatArray().map((x) => formatNumber(x, digits));
  if (t.rank === 0) return v[0];
  const last = t.shape[t.rank - 1] || 1;
  const rows = Array.from({ length: v.length / last }, (_, i) => `[${v.slice(i * last, (i + 1) * last).join(', ')}]`);
  return t.rank === 1 ? rows[0] : `[${rows.join(', ')}]`;
}

/** An op's arguments that are not tensors (an exponent, an axis), shown beside its name when short. */
function extraArgs(args: readonly unknown[]): string {
  const shown = args.flatMap((a) => {
    if (typeof a === 'number' || typeof a === 'boolean') return [String(a)];
    if (typeof a === 'string') return [a];
    if (Array.isArray(a) && a.length <= 4 && a.every((x) => typeof x === 'number')) return [`[${a.join(', ')}]`];
    return [];
  });
  return shown.join(', ');
}

/** The tensors of a record's arguments: a tensor, or each tensor of an array argument. */
const tensorsOf = (a: unknown): Tensor[] => (a instanceof Tensor ? [a] : Array.isArray(a) ? a.filter((x): x is Tensor => x instanceof Tensor) : []);

/** The graph of a tape as Graphviz DOT text. */
export function toDot(tape: Tape, options: DrawOptions = {}): string {
  const records = options.records ?? tape.records;
  const made = new Set(records.map((r) => r.out));
  const ids = new Map<Tensor, string>();
  const lines: string[] = [];
  let next = 0;

  // The backward pass: each tensor's gradient, and what each record passed to each input.
  const grads = new Map<Tensor, Tensor>();
  const passed = new Map<TapeRecord, [Tensor, Tensor][]>();
  const from = options.backwardFrom;
  if (from) {
    const tensors = [...new Set(records.flatMap((r) => [r.out, ...r.args.flatMap(tensorsOf)]))].filter((t) => t.requiresGrad);
    const drawn = new Set(records);
    const reached = new Set<Tensor>([from]);
    const values = tape.gradients(from, tensors, {
      onStep: (record, _g, inputGrads) => {
        if (!drawn.has(record)) return;
        reached.add(record.out);
        // One pair per argument: mul(x, x) passes x two gradients.
        const given: [Tensor, Tensor][] = [];
        record.args.forEach((a, i) => {
          const gi = inputGrads[i];
          if (a instanceof Tensor && gi instanceof Tensor && a.requiresGrad) given.push([a, gi]);
          if (Array.isArray(a) && Array.isArray(gi))
            a.forEach((x, j) => x instanceof Tensor && gi[j] instanceof Tensor && x.requiresGrad && given.push([x, gi[j] as Tensor]));
        });
        for (const [t] of given) reached.add(t);
        passed.set(record, given);
      },
    });
    tensors.forEach((t, i) => reached.has(t) && grads.set(t, values[i]));
  }

  const tensorNode = (t: Tensor): string => {
    const known = ids.get(t);
    if (known) return known;
    const id = `t${next++}`;
    ids.set(t, id);
    const name = options.names?.get(t) ?? t.name;
    const label = [[name, t.rank === 0 ? 'scalar' : formatShape(t.shape)].filter(Boolean).join(' ')];
    const value = formatValues(t, options);
    if (value) label.push(name || made.has(t) ? `value ${value}` : value);
    const g = grads.get(t);
    const gradient = g && formatValues(g, options);
    if (gradient) label.push(`grad ${gradient}`);
    const note = options.annotate?.(t);
    if (note) label.push(...note.lines);
    const kind = made.has(t) ? 'computed' : t.requiresGrad ? 'parameter' : 'constant';
    const style = kind === 'constant' ? 'rounded,filled,dashed' : 'rounded,filled';
    lines.push(`  ${id} [shape=box, style="${style}", fillcolor="${note?.fill ?? FILL[kind]}", label=${quote(label)}];`);
    return id;
  };

  // An edge along which a gradient flows back is drawn twice over, black and red side by side
  // (Graphviz's "black:red"), labelled with the gradient it carries: one edge, not two, to lay out.
  // A label is laid out as part of its edge; an xlabel is placed afterwards, which large graphs need.
  const large = records.length > 60;
  const labelKind = large ? 'xlabel' : 'label';
  records.forEach((r, i) => {
    const op = `op${i}`;
    const extra = extraArgs(r.args);
    const given = passed.get(r) ?? [];
    lines.push(`  ${op} [shape=ellipse, style=filled, fillcolor="#fdf2d0", label=${quote([extra ? `${r.op.name} (${extra})` : r.op.name])}];`);
    const used = new Set<number>();
    for (const a of r.args.flatMap(tensorsOf)) {
      // mul(x, x): each argument takes its own gradient, in order.
      const k = given.findIndex(([t], j) => t === a && !used.has(j));
      if (k < 0) {
        lines.push(`  ${tensorNode(a)} -> ${op} [color="${FORWARD}"];`);
        continue;
      }
      used.add(k);
      const value = formatValues(given[k][1], options);
      lines.push(
        `  ${tensorNode(a)} -> ${op} [color="${FORWARD}:${BACKWARD}", penwidth=1.5, fontcolor="${BACKWARD}"${value ? `, ${labelKind}=${quote([value])}` : ''}];`,
      );
    }
    const backward = passed.has(r) ? `${FORWARD}:${BACKWARD}` : FORWARD;
    lines.push(`  ${op} -> ${tensorNode(r.out)} [color="${backward}"${passed.has(r) ? ', penwidth=1.5' : ''}];`);
  });

  const caption = [
    ...(options.title ? [options.title] : []),
    ...(from ? [`red beside black: the backward pass, labelled with the gradient it carries back`] : []),
  ];
  const title = caption.length ? `  label=${quote(caption)}; labelloc=t; fontsize=13;\n` : '';
  // NOTE: dot's network simplex (ranking, then x positions) is what takes minutes on a large tape
  // (a parameter used by hundreds of ops has edges across every rank); bounding its iterations keeps
  // a graph of a thousand nodes to seconds. Tapes of up to 60 ops are laid out without the bound.
  const bounded = large ? '  nslimit=1; nslimit1=1;\n' : '';
  return `digraph tape {
  rankdir=${options.direction ?? 'LR'};
${bounded}${title}  fontname="Helvetica"; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];
${lines.join('\n')}
}
`;
}

/** The graph of a tape as SVG, laid out by Graphviz (WebAssembly, loaded on first use). */
export async function toSvg(tape: Tape, options: DrawOptions = {}): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(toDot(tape, options), { format: 'svg' });
}
