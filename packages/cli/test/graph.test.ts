// --graph: the pictures `backprop check` and `backprop gradcheck` draw, read back from their SVG.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeNamed, parseSvg, texts } from '../../../test/svg.ts';
import { backprop, repoRoot } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'graph-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = join(repoRoot, 'examples/paper-worked-example.txt');
const GREEN = '#d3f0da',
  YELLOW = '#fff1bf',
  RED = '#f9d0cc';

describe('backprop check --graph', () => {
  it("draws the paper's derivation: a node per value and op, each claim's verdict on its node, the backward pass from l", () => {
    const out = join(dir, 'paper.svg');
    const r = backprop(['check', example, '--graph', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('14 claims: 10 ok (3 truncated), 4 rounding, 0 wrong; score 14/14'); // the table as always
    const svg = readFileSync(out, 'utf8');
    const { nodes, edges } = parseSvg(svg);
    const ops = [...nodes.values()].filter((n) => n.fill === '#fdf2d0');
    expect(ops.length).toBe(nodes.size - ops.length - 12 - 2); // every op makes one tensor; 12 givens and 2 constants (the derivatives) make the rest
    expect(ops.map((n) => n.lines[0]).filter((l) => l === 'sigmoid').length).toBe(3);
    expect(nodeNamed(nodes, 'h1')).toEqual({ lines: ['h1 scalar', 'value 0.65', 'grad 0.031712', 'line 21: 0.65 ok'], fill: GREEN });
    expect(nodeNamed(nodes, "o'")).toEqual({
      lines: ["o' scalar", 'value 1.3554', 'grad 0.25586', 'line 25: 1.355395 rounding', "line 31: dl/do' = 0.25586 ok"],
      fill: YELLOW,
    });
    // Derivatives stand on the node of what they are taken with respect to (the first, for d(dl/dw5)/dw6).
    expect(nodeNamed(nodes, 'w5')!.lines.slice(-3)).toEqual([
      'line 32: dl/dw5 = 0.168103 ok (truncated)',
      'line 41: d2l/dw5^2 = -0.04224 ok',
      'line 42: d(dl/dw5)/dw6 = -0.03403 ok',
    ]);
    expect(nodeNamed(nodes, 'dl/dw5')!.lines).toEqual(['dl/dw5 scalar', 'value 0.1681']); // a constant inside new_w5's line
    // Edges join tensors and ops: each op has one edge out (its output) and one in per tensor it reads.
    const ends = edges.map((e) => e.title.split('->'));
    expect(ends.every(([a, b]) => a.startsWith('op') !== b.startsWith('op'))).toBe(true);
    expect(ends.filter(([a]) => a.startsWith('op')).length).toBe(ops.length);
    expect(ops.length).toBe(20);
    expect(ends.filter(([, b]) => b.startsWith('op')).length).toBe(2 * 16 + 3 + 1); // 16 binary ops, 3 sigmoids and (o - y)^2's pow
    // The backward pass from l runs along every edge but those of the two updates and their constants.
    const data = edges.filter((e) => e.strokes.join() === 'black'),
      both = edges.filter((e) => e.strokes.join() === 'black,#c0392b');
    expect(data.length + both.length).toBe(edges.length);
    expect(data.length).toBe(2 * 6); // new_w5 = w5 - eta * dl/dw5: mul (2 in, 1 out), sub (2 in, 1 out); and new_w6
    const w5 = [...nodes].find(([, n]) => n.lines[0] === 'w5 scalar')![0];
    const fromW5 = edges.filter((e) => e.title.startsWith(`${w5}->`));
    expect(fromW5.map((e) => [nodes.get(e.title.split('->')[1])!.lines[0], e.strokes.length, e.labels])).toEqual([
      ['mul', 2, ['0.1681']],
      ['sub', 1, []],
    ]);
    expect(texts(svg)[0]).toBe('paper-worked-example.txt: 14 claims: 10 ok (3 truncated), 4 rounding, 0 wrong; score 14/14');
  });

  it("writes Graphviz's DOT text instead for a .dot file, the same graph", () => {
    const out = join(dir, 'paper.dot');
    expect(backprop(['check', example, '--graph', out]).code).toBe(0);
    const dot = readFileSync(out, 'utf8');
    expect(dot.startsWith('digraph tape {\n  rankdir=TB;\n')).toBe(true);
    expect(dot).toContain('label="h1 scalar\\nvalue 0.65\\ngrad 0.031712\\nline 21: 0.65 ok"');
    const svgNodes = parseSvg(readFileSync(join(dir, 'paper.svg'), 'utf8')).nodes.size;
    expect(dot.match(/^ {2}(t|op)\d+ \[shape=/gm)!.length).toBe(svgNodes);
  });

  it('colours a wrong claim red, with the value it should have', () => {
    const slip = join(dir, 'slip.txt');
    writeFileSync(slip, readFileSync(example, 'utf8').replace(/^I2 = 0.25$/m, 'I2 = 0.05'));
    const out = join(dir, 'slip.svg');
    expect(backprop(['check', slip, '--graph', out]).code).toBe(1);
    expect(nodeNamed(parseSvg(readFileSync(out, 'utf8')).nodes, 'h1')).toMatchObject({
      fill: RED,
      lines: expect.arrayContaining(['line 21: 0.65 wrong (0.5)']),
    });
  });

  it('refuses a derivation too large to draw, and a path it cannot write, leaving no file', () => {
    const chain = join(dir, 'chain.txt');
    writeFileSync(chain, ['x0 = 0.5', ...Array.from({ length: 600 }, (_, i) => `x${i + 1} = x${i} * 0.9`)].join('\n'));
    const big = backprop(['check', chain, '--graph', join(dir, 'big.svg')]);
    expect(big.code).toBe(2);
    expect(big.stderr.trim()).toBe(
      'backprop: --graph: the derivation has 600 operations; a picture of more than 500 is not readable (and Graphviz takes minutes to lay it out)',
    );
    const nowhere = backprop(['check', example, '--graph', join(dir, 'no-such-dir', 'x.svg')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/no-such-dir\/x\.svg/);
    const long = backprop(['check', example, '--graph', join(dir, `${'b'.repeat(300)}.svg`)]);
    expect(long.code).toBe(2);
    expect(long.stderr.trim()).toMatch(/^backprop: --graph: the file name is too long \(\d+ characters, or a part of it over 255\): /);
    expect(long.stderr).not.toMatch(/ENAMETOOLONG|lstat/);
    expect(
      readdirSync(dir)
        .filter((f) => /\.(svg|dot)$/.test(f))
        .sort(),
    ).toEqual(['paper.dot', 'paper.svg', 'slip.svg']);
  });
});

describe('backprop gradcheck --graph', () => {
  it("draws the network's tape in §2.1's names, each parameter's node with the three gradients' agreement", () => {
    const out = join(dir, 'net.svg');
    const r = backprop(['gradcheck', '--layers', '4,3,2', '--random', '--graph', out]);
    expect(r.code).toBe(0);
    const { nodes, edges } = parseSvg(readFileSync(out, 'utf8'));
    // X, W1, b1, W2, b2; matmul, add, tanh, matmul, add, hingeLoss and their six outputs.
    expect(nodes.size).toBe(5 + 6 + 6);
    expect(edges.length).toBe(2 + 1 + 2 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1);
    const W1 = nodeNamed(nodes, 'W1 (layers.0.weight)')!;
    expect(W1.fill).toBe(GREEN);
    expect(W1.lines[0]).toBe('W1 (layers.0.weight) [4,3]');
    expect(W1.lines.slice(1).map((l) => l.replace(/[\d.]+e[-+]\d+/, 'E'))).toEqual(['hand vs tape: E ok', 'tape vs numeric: E ok', 'hand vs numeric: E ok']);
    for (const name of ['X', 'H1_pre', 'H1', 'S', 'loss']) expect(nodeNamed(nodes, name), name).toBeDefined();
    expect(nodeNamed(nodes, 'loss')!.lines).toEqual(['loss scalar', expect.stringMatching(/^value \d\.\d+$/), 'grad 1']);
  });

  it("draws a model file's network with the file's names for its parameters and named values", () => {
    const out = join(dir, 'model.svg');
    const r = backprop(['gradcheck', '--model', 'examples/models/residual.ts', '--random', '--batch', '2', '--full-limit', '10', '--graph', out]);
    expect(r.code).toBe(0);
    const { nodes } = parseSvg(readFileSync(out, 'utf8'));
    const W1 = nodeNamed(nodes, 'W1')!;
    expect(W1.lines.map((l) => l.replace(/[\d.]+e[-+]\d+/, 'E'))).toEqual([
      'W1 [784,64]',
      'hand vs tape: E ok',
      'tape vs numeric: E ok',
      'hand vs numeric: E ok',
    ]);
    expect(W1.fill).toBe(GREEN);
    for (const name of ['X', 'H1', 'W4', 'b4', 'loss']) expect(nodeNamed(nodes, name), name).toBeDefined();
  });

  it("with --order 2, the Hessian-vector products' agreement; with --op, a clear refusal", () => {
    const out = join(dir, 'hessian.svg');
    expect(backprop(['gradcheck', '--order', '2', '--layers', '4,3,2', '--random', '--graph', out]).code).toBe(0);
    expect(nodeNamed(parseSvg(readFileSync(out, 'utf8')).nodes, 'W2 (layers.1.weight)')!.lines[1]).toMatch(/^H v: max rel [\d.]+e[-+]\d+ ok$/);
    const op = backprop(['gradcheck', '--op', 'relu', '--graph', join(dir, 'op.svg')]);
    expect(op.code).toBe(2);
    expect(op.stderr.trim()).toBe("backprop: --graph draws a network's graph; with --op there is none (leave out --op, or --graph)");
    expect(existsSync(join(dir, 'op.svg'))).toBe(false);
  });
});
