/** A checked derivation's graph, each claim's verdict on its node (`backprop check --graph`, the site's check panel). */
import { Tensor, type DrawOptions, type TapeRecord } from '@backprop/graph';
import type { Derivation } from './derivation.ts';
import type { CheckReport, VerdictName } from './evaluate.ts';

const fills: Record<VerdictName, string> = { ok: '#d3f0da', rounding: '#fff1bf', wrong: '#f9d0cc', blank: '#e4e4f7', undecided: '#e0e0e0' };
const worst: VerdictName[] = ['wrong', 'undecided', 'rounding', 'blank', 'ok'];

/**
 * How to draw a checked derivation (`d.tape.toSvg(options)`): every value a node, each claim's
 * verdict on the node of what it is about (a name's own node; dX/dY on Y's), coloured by the worst
 * verdict there; when the derivatives claimed are all of one value (l), the backward pass from it.
 * `records` holds the operations drawn: Graphviz lays out a few hundred in seconds, thousands take minutes.
 */
export function derivationDrawing(d: Derivation, report: CheckReport, title: string): DrawOptions & { records: TapeRecord[] } {
  // What computes the named values: a second derivative also records a backward pass on the tape,
  // whose results are used as constants and are not drawn.
  const needed = new Set<Tensor>(d.values.values());
  const records: TapeRecord[] = [];
  for (let i = d.tape.records.length - 1; i >= 0; i--) {
    const r = d.tape.records[i];
    if (!needed.has(r.out)) continue;
    records.push(r);
    for (const a of r.args.flat()) if (a instanceof Tensor) needed.add(a);
  }
  records.reverse();
  const notes = new Map<Tensor, { lines: string[]; verdicts: VerdictName[] }>();
  const byLine = new Map(d.statements.map((s) => [s.line, s]));
  const outputs = new Set<string>();
  for (const v of report.verdicts) {
    const s = byLine.get(v.line);
    if (!s) continue;
    const node = s.lhs.kind === 'name' ? d.values.get(s.lhs.name) : s.lhs.kind === 'deriv' ? d.values.get(s.lhs.wrt) : undefined;
    if (!node) continue;
    if (s.lhs.kind === 'deriv') outputs.add(s.lhs.of);
    const verdict = v.truncated ? 'ok (truncated)' : v.verdict;
    const line = `line ${v.line}: ${s.lhs.kind === 'deriv' ? `${v.claim} = ` : ''}${v.claimed} ${verdict}${v.verdict === 'wrong' || v.verdict === 'blank' ? ` (${v.computed})` : ''}`;
    const note = notes.get(node) ?? { lines: [], verdicts: [] };
    note.lines.push(line);
    note.verdicts.push(v.verdict);
    notes.set(node, note);
  }
  const from = outputs.size === 1 ? d.values.get([...outputs][0]) : undefined;
  return {
    records,
    names: d.labels,
    backwardFrom: from && from.size === 1 ? from : undefined,
    title,
    direction: 'TB',
    annotate: (t) => {
      const note = notes.get(t);
      return note && { lines: note.lines, fill: fills[worst.find((w) => note.verdicts.includes(w))!] };
    },
  };
}
