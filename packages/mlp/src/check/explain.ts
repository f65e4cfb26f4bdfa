/** The backward pass for one derivative, step by step, as a textbook shows it. */
import { Tensor } from '@backprop/graph';
import { formatValue, type Derivation } from './derivation.ts';

/** `--explain dX/dY`: the backward pass from X back to Y, each step with its upstream gradient, local rule and contribution. */
export function explain(d: Derivation, of: string, wrt: string): string {
  const x = d.values.get(of),
    y = d.values.get(wrt);
  if (!x || !y) throw new Error(`--explain d${of}/d${wrt}: the file defines no '${x ? wrt : of}'`);
  if (x.size !== 1) throw new Error(`--explain d${of}/d${wrt}: ${of} has shape [${x.shape}], not a single number`);
  const label = (t: unknown) => (t instanceof Tensor ? (d.labels.get(t) ?? (t.size === 1 ? formatValue(t) : '(constant)')) : String(t));
  // The records on a path from Y to X: those with an input that is Y or depends on it.
  const onPath = new Set<Tensor>([y]);
  for (const r of d.tape.records) if (r.args.some((a) => a instanceof Tensor && onPath.has(a))) onPath.add(r.out);
  const lines = [`backward pass for d${of}/d${wrt}, from ${of} back to ${wrt} (upstream = d${of}/d(node)):`, ''];
  let step = 0;
  d.tape.gradients(x, [y], {
    onStep: (record, upstream, grads) => {
      if (!onPath.has(record.out)) return;
      const args = record.args.map(label).join(', ');
      lines.push(`${++step}. ${label(record.out)} = ${record.op.name}(${args})`);
      lines.push(`   upstream d${of}/d(${label(record.out)}) = ${formatValue(upstream)}`);
      lines.push(`   local rule: ${record.op.rule ?? '(none given)'}`);
      record.args.forEach((a, i) => {
        const gi = grads[i];
        if (a instanceof Tensor && onPath.has(a) && gi instanceof Tensor) lines.push(`   -> contributes ${formatValue(gi)} to d${of}/d(${label(a)})`);
      });
    },
  });
  const total = d.tape.gradients(x, [y])[0];
  lines.push('', `d${of}/d${wrt} = ${formatValue(total)}`);
  return lines.join('\n');
}
