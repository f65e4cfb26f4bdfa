/**
 * The derivation-file language: hand calculations as written on paper.
 *
 *   name = 0.05                      a given
 *   h1 = I1*w1 + b1 + I2*w3 = 0.65   a definition, optional steps, and a claimed value
 *   dl/dw5 = 0.168103                a claimed derivative (reverse mode on the tape)
 *
 * No off-the-shelf expression parser reads this notation (primes in names such as o', the
 * derivative token dl/dw5, @ for the matrix product, 2(o - y)), so this is a small Pratt parser.
 */

export type Node =
  | { kind: 'num'; value: number; text: string }
  | { kind: 'name'; name: string }
  | { kind: 'deriv'; of: string; wrt: string }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '^' | '@'; left: Node; right: Node }
  | { kind: 'neg'; arg: Node }
  | { kind: 'call'; fn: string; args: Node[] }
  | { kind: 'matrix'; rows: Node[][]; vector: boolean };

export type Lhs = { kind: 'name'; name: string } | { kind: 'deriv'; of: string; wrt: string };

export interface Statement {
  line: number;
  text: string;
  lhs: Lhs;
  /** The expression (and any further steps) between the name and the claim. */
  exprs: Node[];
  /** The claimed number or matrix (a literal), if any. */
  claim?: Node;
}

export class CheckError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

export const functions: Record<string, number> = {
  sigmoid: 1, tanh: 1, relu: 1, elu: 1, exp: 1, log: 1, sqrt: 1, abs: 1, max: 2, min: 2, T: 1, sum: 1, mean: 1, softmax: 1,
};

interface Token {
  type: 'num' | 'name' | 'op';
  text: string;
  /** No space between this token and the previous one. */
  joined: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_']*/;
const NUMBER = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;

function tokenize(src: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0, joined = false;
  const s = src.replace(/[×·]/g, '*').replace(/−/g, '-');
  while (i < s.length) {
    const rest = s.slice(i);
    const ws = /^\s+/.exec(rest);
    if (ws) { i += ws[0].length; joined = false; continue; }
    const num = NUMBER.exec(rest), name = NAME.exec(rest);
    if (num) tokens.push({ type: 'num', text: num[0], joined });
    else if (name) tokens.push({ type: 'name', text: name[0], joined });
    else if ('+-*/^@()[],='.includes(rest[0])) tokens.push({ type: 'op', text: rest[0], joined });
    else throw new CheckError(line, `syntax error: unexpected '${rest[0]}' at column ${i + 1}`);
    i += (num ?? name)?.[0].length ?? 1;
    joined = true;
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[], private readonly line: number, private readonly known: (name: string) => boolean) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }
  private fail(what: string): never {
    const t = this.peek();
    throw new CheckError(this.line, `syntax error: ${what}${t ? ` at '${t.text}'` : ' at the end of the line'}`);
  }
  private expect(text: string): void {
    if (this.peek()?.text !== text) this.fail(`expected '${text}'`);
    this.pos++;
  }
  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  /** `dX/dY` written without spaces, where X and Y are names of the file: a derivative, not a division. */
  derivativeAhead(): { of: string; wrt: string } | null {
    const [a, slash, b] = [this.peek(), this.peek(1), this.peek(2)];
    if (a?.type !== 'name' || slash?.text !== '/' || b?.type !== 'name' || !slash.joined || !b.joined) return null;
    if (!a.text.startsWith('d') || !b.text.startsWith('d')) return null;
    const of = a.text.slice(1), wrt = b.text.slice(1);
    return this.known(of) && this.known(wrt) ? { of, wrt } : null;
  }

  expression(minPrec = 0): Node {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      if (!t) break;
      const implicit = (t.text === '(' || t.type === 'name') && left.kind === 'num'; // 2(o - y), 2x
      const op = implicit ? '*' : t.text;
      const prec = op === '+' || op === '-' ? 1 : op === '*' || op === '/' || op === '@' ? 2 : op === '^' ? 4 : -1;
      if (prec < 0 || prec < minPrec) break;
      if (!implicit) this.pos++;
      const right = this.expression(op === '^' ? prec : prec + 1);
      left = { kind: 'binary', op: op as '+', left, right };
    }
    return left;
  }

  private prefix(): Node {
    const t = this.peek();
    if (!t) this.fail('expected a value');
    if (t.text === '-') {
      this.pos++;
      return { kind: 'neg', arg: this.expression(3) };
    }
    if (t.text === '+') {
      this.pos++;
      return this.expression(3);
    }
    if (t.type === 'num') {
      this.pos++;
      return { kind: 'num', value: Number(t.text), text: t.text };
    }
    if (t.text === '(') {
      this.pos++;
      const inner = this.expression();
      this.expect(')');
      return inner;
    }
    if (t.text === '[') return this.matrix();
    if (t.type === 'name') {
      const d = this.derivativeAhead();
      if (d) {
        this.pos += 3;
        return { kind: 'deriv', ...d };
      }
      this.pos++;
      if (this.peek()?.text === '(' && t.text in functions) {
        this.pos++;
        const args: Node[] = [];
        if (this.peek()?.text !== ')') {
          args.push(this.expression());
          while (this.peek()?.text === ',') {
            this.pos++;
            args.push(this.expression());
          }
        }
        this.expect(')');
        if (args.length !== functions[t.text]) {
          throw new CheckError(this.line, `${t.text} takes ${functions[t.text]} argument${functions[t.text] > 1 ? 's' : ''}, got ${args.length}`);
        }
        return { kind: 'call', fn: t.text, args };
      }
      return { kind: 'name', name: t.text };
    }
    return this.fail('expected a value');
  }

  private matrix(): Node {
    this.expect('[');
    if (this.peek()?.text === '[') {
      const rows: Node[][] = [];
      for (;;) {
        this.expect('[');
        rows.push(this.list(']'));
        if (this.peek()?.text !== ',') break;
        this.pos++;
      }
      this.expect(']');
      if (rows.some((r) => r.length !== rows[0].length)) throw new CheckError(this.line, 'shape mismatch: the rows of a matrix literal differ in length');
      return { kind: 'matrix', rows, vector: false };
    }
    return { kind: 'matrix', rows: [this.list(']')], vector: true };
  }

  private list(close: string): Node[] {
    const items = [this.expression()];
    while (this.peek()?.text === ',') {
      this.pos++;
      items.push(this.expression());
    }
    this.expect(close);
    return items;
  }
}

/** A literal claim: a number or a matrix of numbers, possibly negative. */
export function isLiteral(n: Node): boolean {
  if (n.kind === 'num') return true;
  if (n.kind === 'neg') return n.arg.kind === 'num';
  if (n.kind === 'matrix') return n.rows.every((r) => r.every(isLiteral));
  return false;
}

/** Splits tokens on top-level '='. */
function splitOnEquals(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (t.text === '=' && depth === 0) parts.push([]);
    else parts[parts.length - 1].push(t);
  }
  return parts;
}

/** Parses a whole file. Comments start with #; blank lines are ignored. */
export function parseFile(source: string): Statement[] {
  const lines = source.split(/\r?\n/).map((raw, i) => ({ line: i + 1, text: raw.replace(/#.*$/, '').trim() })).filter((l) => l.text);
  // Pass 1: the names the file defines, so that dl/dw5 can be told from a division.
  const defined = new Set<string>();
  const tokenized = lines.map(({ line, text }) => {
    const parts = splitOnEquals(tokenize(text, line));
    if (parts.length < 2) throw new CheckError(line, "syntax error: expected 'name = value'");
    const head = parts[0];
    if (head.length === 1 && head[0].type === 'name') defined.add(head[0].text);
    return { line, text, parts };
  });
  const known = (n: string) => defined.has(n);
  return tokenized.map(({ line, text, parts }) => {
    const [head, ...rest] = parts;
    const headParser = new Parser(head, line, known);
    let lhs: Lhs;
    if (head.length === 1 && head[0].type === 'name') lhs = { kind: 'name', name: head[0].text };
    else {
      const d = headParser.derivativeAhead();
      if (!d || head.length !== 3) {
        const shown = head.map((t) => t.text).join('');
        const m = /^d([^/]+)\/d(.+)$/.exec(shown);
        throw new CheckError(line, m ? `unknown name '${known(m[1]) ? m[2] : m[1]}' in ${shown}` : `syntax error: the left side must be a name or dX/dY, got '${shown}'`);
      }
      lhs = { kind: 'deriv', ...d };
    }
    const nodes = rest.map((tokens) => {
      if (tokens.length === 0) throw new CheckError(line, "syntax error: nothing after '='");
      const p = new Parser(tokens, line, known);
      const node = p.expression();
      if (!p.atEnd()) p.expression(); // reports the unexpected token
      return node;
    });
    const last = nodes[nodes.length - 1];
    const hasClaim = isLiteral(last) && (nodes.length > 1 || lhs.kind === 'deriv');
    const exprs = hasClaim ? nodes.slice(0, -1) : nodes;
    if (lhs.kind === 'deriv' && !hasClaim) throw new CheckError(line, `d${lhs.of}/d${lhs.wrt} needs a claimed number at the end`);
    return { line, text, lhs, exprs, claim: hasClaim ? last : undefined };
  });
}

const precedence = (n: Node): number =>
  n.kind === 'binary' ? (n.op === '+' || n.op === '-' ? 1 : n.op === '^' ? 4 : 2) : n.kind === 'neg' ? 3 : 5;

/** The expression back as text, with only the parentheses it needs. */
export function show(n: Node): string {
  switch (n.kind) {
    case 'num': return n.text;
    case 'name': return n.name;
    case 'deriv': return `d${n.of}/d${n.wrt}`;
    case 'neg': return `-${paren(n.arg, precedence(n) + 1)}`;
    case 'call': return `${n.fn}(${n.args.map(show).join(', ')})`;
    case 'matrix': return n.vector ? `[${n.rows[0].map(show).join(', ')}]` : `[${n.rows.map((r) => `[${r.map(show).join(', ')}]`).join(', ')}]`;
    case 'binary': {
      const p = precedence(n);
      const left = paren(n.left, n.op === '^' ? p + 1 : p);
      const right = paren(n.right, n.op === '^' ? p : p + 1);
      return n.op === '^' ? `${left}^${right}` : `${left} ${n.op} ${right}`;
    }
  }
}

const paren = (n: Node, min: number) => (precedence(n) < min ? `(${show(n)})` : show(n));

/** The names and derivatives an expression refers to. */
export function references(n: Node, out: { names: Set<string>; derivs: { of: string; wrt: string }[] } = { names: new Set(), derivs: [] }) {
  if (n.kind === 'name') out.names.add(n.name);
  else if (n.kind === 'deriv') out.derivs.push({ of: n.of, wrt: n.wrt });
  else if (n.kind === 'binary') { references(n.left, out); references(n.right, out); }
  else if (n.kind === 'neg') references(n.arg, out);
  else if (n.kind === 'call') n.args.forEach((a) => references(a, out));
  else if (n.kind === 'matrix') n.rows.flat().forEach((a) => references(a, out));
  return out;
}
