/** `backprop check FILE --graph out.svg`: the derivation's graph, each claim's verdict on its node. */
import { derivationDrawing, type CheckReport, type Derivation } from '@backprop/mlp/check';
import { drawAs } from '../network-graph.ts';

/** Graphviz lays out a few hundred ops in seconds; thousands take minutes. */
export const MAX_DRAWN_OPS = 500;

/** The picture of a checked derivation (SVG, or DOT for a path ending in .dot). */
export async function derivationGraph(d: Derivation, report: CheckReport, title: string, path: string): Promise<string> {
  const drawing = derivationDrawing(d, report, title);
  if (drawing.records.length > MAX_DRAWN_OPS) {
    throw new Error(
      `--graph: the derivation has ${drawing.records.length} operations; a picture of more than ${MAX_DRAWN_OPS} is not readable (and Graphviz takes minutes to lay it out)`,
    );
  }
  return drawAs(path, d.tape, drawing);
}
