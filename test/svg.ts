/** Reads what Graphviz writes into an SVG: its nodes (their lines of text and fill) and edges, by DOT id. */
const unescapeXml = (s: string) =>
  s
    .replace(/&#45;/g, '-')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** The lines of text in a piece of SVG. */
export const texts = (body: string) => [...body.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescapeXml(m[1]));

export function parseSvg(svg: string) {
  const groups = [...svg.matchAll(/<g id="(node|edge)\d+" class="(?:node|edge)">\s*<title>([^<]*)<\/title>([\s\S]*?)<\/g>/g)];
  const nodes = new Map(
    groups.filter((g) => g[1] === 'node').map((g) => [g[2], { lines: texts(g[3]), fill: /<(?:path|polygon|ellipse)[^>]*fill="([^"]+)"/.exec(g[3])?.[1] }]),
  );
  const edges = groups
    .filter((g) => g[1] === 'edge')
    .map((g) => ({
      title: unescapeXml(g[2]),
      strokes: [...g[3].matchAll(/<path[^>]*stroke="([^"]+)"/g)].map((m) => m[1]),
      labels: texts(g[3]),
    }));
  return { nodes, edges };
}

/** The node whose first line starts with `name ` (a tensor's name, then its shape). */
export const nodeNamed = (nodes: ReturnType<typeof parseSvg>['nodes'], name: string) => [...nodes.values()].find((n) => n.lines[0].startsWith(`${name} `));
