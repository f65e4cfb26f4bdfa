/** An MLP's tape drawn with the names of the paper's §2.1: X, W1, b1, H1_pre, H1, ..., S and the loss. */
import { Tensor, type DrawOptions, type Tape } from '@backprop/graph';

/**
 * The names of the tensors a network's forward pass and loss recorded: its inputs X, each layer's
 * W and b, what they made (H1_pre = X W1 + b1, H1 = g(H1_pre), ..., the scores S) and the loss.
 */
export function paperNames(tape: Tape, X: Tensor, params: Tensor[], loss: Tensor): Map<Tensor, string> {
  const layers = params.length / 2;
  const names = new Map<Tensor, string>([
    [X, 'X'],
    [loss, 'loss'],
  ]);
  params.forEach((p, i) => names.set(p, `${i % 2 ? 'b' : 'W'}${Math.floor(i / 2) + 1}`));
  const pre = new Map<Tensor, number>(); // H_pre -> its layer
  for (const r of tape.records) {
    const layer = params.findIndex((p, i) => i % 2 === 1 && r.args.includes(p));
    if (layer >= 0) {
      const l = (layer - 1) / 2 + 1;
      if (!names.has(r.out)) names.set(r.out, l === layers ? 'S' : `H${l}_pre`);
      pre.set(r.out, l);
    } else if (r.args[0] instanceof Tensor && pre.has(r.args[0]) && pre.get(r.args[0])! < layers && !names.has(r.out)) {
      names.set(r.out, `H${pre.get(r.args[0])}`);
    }
  }
  return names;
}

/**
 * The picture of a network's forward pass and loss on a batch, with the backward pass from the loss:
 * a vertical graph for a page.
 */
export function networkSvg(tape: Tape, X: Tensor, params: Tensor[], loss: Tensor, title: string): Promise<string> {
  return tape.toSvg({ names: paperNames(tape, X, params, loss), backwardFrom: loss, title, direction: 'TB' });
}

/** A picture as a --graph file's name asks: Graphviz's DOT text for FILE.dot or FILE.gv, SVG otherwise. */
export function drawAs(path: string, tape: Tape, options: DrawOptions): Promise<string> {
  return /\.(dot|gv)$/i.test(path) ? Promise.resolve(tape.toDot(options)) : tape.toSvg(options);
}
