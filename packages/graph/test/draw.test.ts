// Pictures of a tape: the DOT text and the SVG Graphviz lays out from it, checked for structure
// (nodes, labels, edges), with gradients computed here by hand.
import { describe, expect, it } from 'vitest';
import { Tape, tensor, zeros, type Tensor } from '../src/index.ts';
import { parseSvg, texts } from '../../../test/svg.ts';

const param = { dtype: 'float64', requiresGrad: true } as const;

/** l = tanh(x w + b)^2 at x = 0.5, w = 2, b = -0.3: four ops, seven tensors. */
function small() {
  const x = tensor(0.5, param),
    w = tensor(2, param),
    b = tensor(-0.3, param);
  const t = new Tape();
  const y = t.tanh(t.add(t.mul(x, w), b));
  const l = t.square(y);
  const names = new Map<Tensor, string>([
    [x, 'x'],
    [w, 'w'],
    [b, 'b'],
    [y, 'y'],
    [l, 'l'],
  ]);
  return { t, x, w, b, y, l, names };
}

describe('tape.toDot and tape.toSvg', () => {
  it('draws ops and tensors with values and gradients, data edges in black and the backward pass in red', async () => {
    const { t, l, names } = small();
    const svg = await t.toSvg({ names, backwardFrom: l });
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg width="\d+pt" height="\d+pt"/);
    const { nodes, edges } = parseSvg(svg);
    expect(nodes.size).toBe(4 + 7);
    expect([...nodes.keys()].filter((k) => k.startsWith('op')).map((k) => nodes.get(k)!.lines[0])).toEqual(['mul', 'add', 'tanh', 'square']);
    // By hand: y = tanh(0.7), dl/dy = 2y, dl/d(xw + b) = 2y(1 - y^2), dl/dw = that times x, dl/dx times w.
    const y = Math.tanh(0.7),
      dPre = 2 * y * (1 - y * y);
    const five = (v: number) => v.toPrecision(5).replace(/0+$/, '');
    const byName = (name: string) => [...nodes.values()].find((n) => n.lines[0].startsWith(`${name} `))!.lines;
    expect(byName('w')).toEqual(['w scalar', 'value 2', `grad ${five(dPre * 0.5)}`]);
    expect(byName('x')).toEqual(['x scalar', 'value 0.5', `grad ${five(dPre * 2)}`]);
    expect(byName('y')).toEqual(['y scalar', `value ${five(y)}`, `grad ${five(2 * y)}`]);
    expect(byName('l')).toEqual(['l scalar', `value ${five(y * y)}`, 'grad 1']);
    // Every edge follows the data; those the backward pass runs along have a red line beside the black.
    expect(edges.length).toBe(3 + 3 + 2 + 2);
    const both = edges.filter((e) => e.strokes.join() === 'black,#c0392b');
    expect(both.length).toBe(edges.length); // here every tensor leads to l
    const w = [...nodes.entries()].find(([, n]) => n.lines[0] === 'w scalar')![0];
    expect(edges.find((e) => e.title === `${w}->op0`)!.labels).toEqual([five(dPre * 0.5)]);
    expect(edges.find((e) => e.title === 'op3->t6')!.labels).toEqual([]); // out of the last op: nothing flows in from l's side
    expect(texts(svg)).toContain('red beside black: the backward pass, labelled with the gradient it carries back');
  });

  it('without backwardFrom draws no gradients and no backward edges; large tensors show their shape only', () => {
    const X = zeros([8, 784], { dtype: 'float64' }),
      W = zeros([784, 10], param);
    const t = new Tape();
    const S = t.matmul(X, W);
    t.sum(S);
    const dot = t.toDot({ names: new Map([[W, 'W1']]) });
    expect(dot).toContain('label="W1 [784,10]"');
    expect(dot).toContain('label="[8,784]"'); // the data: a constant, dashed
    expect(dot).toMatch(/style="rounded,filled,dashed", fillcolor="#eeeeee", label="\[8,784\]"/);
    expect(dot).not.toContain('grad');
    expect(dot).not.toContain('#c0392b');
    expect(dot.match(/ -> /g)!.length).toBe(3 + 2);
  });

  it('draws each tensor of an array argument, extra arguments beside the op, notes from annotate, and only the records asked for', () => {
    const a = tensor([1, 2], param),
      b = tensor([3], param);
    const t = new Tape();
    const c = t.concat([a, b], 0);
    const p = t.pow(c, 2);
    const dot = t.toDot({
      names: new Map([
        [a, 'a"1'],
        [b, 'b'],
      ]),
      annotate: (x) => (x === b ? { lines: ['checked: ok'], fill: '#d1f2d9' } : undefined),
      records: t.records.slice(0, 1),
    });
    expect(dot).toContain('label="concat (0)"');
    expect(dot).not.toContain('pow');
    expect(dot).toContain('label="a\\"1 [2]\\nvalue [1, 2]"');
    expect(dot).toContain('fillcolor="#d1f2d9", label="b [1]\\nvalue [3]\\nchecked: ok"');
    expect(dot.match(/ -> /g)!.length).toBe(3);
    expect(t.toDot()).toContain('label="pow (2)"');
    expect(p.shape).toEqual([3]);
  });

  it('labels a tensor used twice with the sum of its two gradients, each edge with its own', () => {
    const x = tensor(3, param);
    const t = new Tape();
    const l = t.add(t.mul(x, x), t.scale(x, 5)); // dl/dx = 2x + 5 = 11: 3 + 3 from mul, 5 from scale
    const dot = t.toDot({ names: new Map([[x, 'x']]), backwardFrom: l });
    expect(dot).toContain('label="x scalar\\nvalue 3\\ngrad 11"');
    const from = (op: string) => dot.split('\n').filter((line) => line.startsWith(`  t0 -> ${op} `));
    expect(from('op0').length).toBe(2); // mul(x, x): one edge per argument
    expect(from('op0').every((line) => line.includes('label="3"'))).toBe(true);
    expect(from('op1')[0]).toContain('label="5"');
  });

  it('draws only the edges the backward pass runs along in two colours, and bounds the layout of large tapes', async () => {
    const x = tensor(0.5, param),
      c = tensor(2, { dtype: 'float64' });
    const t = new Tape();
    const y = t.mul(x, c);
    const other = t.exp(x); // not on the path to y
    let dot = t.toDot({ backwardFrom: y });
    expect(dot.split('\n').filter((l) => l.includes('black:#c0392b')).length).toBe(2); // x -> mul, mul -> y
    expect(dot).toMatch(/t1 -> op0 \[color="black"\]/); // the constant 2: no gradient
    expect(dot).not.toContain('nslimit');
    expect(other.shape).toEqual([]);
    // A chain of 200 ops on one parameter: Graphviz in a few seconds, not minutes (bounded network simplex).
    const w = tensor(0.9, param);
    let z = x;
    for (let i = 0; i < 100; i++) z = t.tanh(t.mul(z, w));
    dot = t.toDot({ backwardFrom: z });
    expect(dot).toContain('nslimit=1; nslimit1=1;');
    const t0 = performance.now();
    const svg = await t.toSvg({ backwardFrom: z });
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(parseSvg(svg).nodes.size).toBe(4 + 2 + 1 + 200 + 200); // x, 2, y, exp(x) and their 2 ops; w; the chain's 200 ops and outputs
  });
});
