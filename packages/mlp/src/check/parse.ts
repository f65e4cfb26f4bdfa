/**
 * The derivation-file language: hand calculations as written on paper.
 *
 *   name = 0.05                      a given
 *   h1 = I1*w1 + b1 + I2*w3 = 0.65   a definition, optional steps, and a claimed value
 *   dl/dw5 = 0.168103                a claimed derivative (reverse mode on the tape)
 *   d2l/dw5^2 = 0.0185               a claimed second derivative, d(dl/dw5)/dw6 = ... a mixed one
 *   h1 = I1*w1 + b1 + I2*w3 = ?      a blank: check prints the value it should hold
 *
 * No off-the-shelf expression parser reads this notation (primes in names such as o', the
 * derivative token dl/dw5, @ for the matrix product, 2(o - y)), so this is a small Pratt parser.
 */

import { decimal } from './exact.ts';

export type Node =
  | { kind: 'num'; value: number; text: string }
  | { kind: 'name'; name: string }
  | ({ kind: 'deriv' } & Derivative)
  /** Operators of one precedence, left to right: a + b - c, or a * b / c @ d. A flat list, so that a
   *  line summing thousands of terms is one node, not a tree thousands deep. */
  | { kind: 'chain'; first: Node; rest: { op: ChainOp; arg: Node }[] }
  | { kind: 'power'; base: Node; exponent: Node }
  | { kind: 'neg'; arg: Node }
  | { kind: 'call'; fn: string; args: Node[] }
  | { kind: 'matrix'; rows: Node[][]; vector: boolean };

export type ChainOp = '+' | '-' | '*' | '/' | '@';

/** dX/dY, or with `wrt2` the second derivative d(dX/dY)/dZ (d2X/dY^2 when Z is Y). */
export interface Derivative {
  of: string;
  wrt: string;
  wrt2?: string;
}

export type Lhs = { kind: 'name'; name: string } | ({ kind: 'deriv' } & Derivative);

/** A derivative as written: dX/dY, d2X/dY^2, or d(dX/dY)/dZ. */
export const derivText = ({ of, wrt, wrt2 }: Derivative) =>
  wrt2 === undefined ? `d${of}/d${wrt}` : wrt2 === wrt ? `d2${of}/d${wrt}^2` : `d(d${of}/d${wrt})/d${wrt2}`;

export interface Statement {
  line: number;
  text: string;
  lhs: Lhs;
  /** The expression (and any further steps) between the name and the claim. */
  exprs: Node[];
  /** The claimed number or matrix (a literal), if any. */
  claim?: Node;
  /** The line ends in `= ?`: a blank of an exercise, whose value check prints. */
  blank?: boolean;
}

export class CheckError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** The functions and their number of arguments. A Map, so that `constructor` or `toString` are not functions. */
export const functions = new Map<string, number>(
  Object.entries({
    sigmoid: 1,
    tanh: 1,
    relu: 1,
    elu: 1,
    exp: 1,
    log: 1,
    sqrt: 1,
    abs: 1,
    max: 2,
    min: 2,
    T: 1,
    sum: 1,
    mean: 1,
    softmax: 1,
  }),
);

/**
 * How deep an expression may nest (parentheses, function calls, signs, powers, brackets). The parser
 * and the walkers over its tree recurse once per level: Node's default stack runs out near 1,300
 * levels; a hand calculation needs a dozen.
 */
export const MAX_NESTING = 256;

interface Token {
  type: 'num' | 'name' | 'op';
  text: string;
  /** No space between this token and the previous one. */
  joined: boolean;
}

// Sticky (y) patterns match at lastIndex, so a long line is read without copying its rest at every token.
const SPACE = /\s+/y;
const NAME = /[A-Za-z_][A-Za-z0-9_']*/y;
const NUMBER = /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/y;

const at = (re: RegExp, s: string, i: number) => {
  re.lastIndex = i;
  return re.exec(s)?.[0];
};

function tokenize(src: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0,
    joined = false;
  const s = src.replace(/[×·]/g, '*').replace(/−/g, '-');
  while (i < s.length) {
    const ws = at(SPACE, s, i);
    if (ws) {
      i += ws.length;
      joined = false;
      continue;
    }
    const num = at(NUMBER, s, i),
      name = num ? undefined : at(NAME, s, i);
    if (num) tokens.push({ type: 'num', text: checkRange(num, line), joined });
    else if (name) tokens.push({ type: 'name', text: name, joined });
    else if ('+-*/^@()[],=?'.includes(s[i])) tokens.push({ type: 'op', text: s[i], joined });
    else throw new CheckError(line, `syntax error: unexpected '${s[i]}' at column ${i + 1}`);
    i += (num ?? name)?.length ?? 1;
    joined = true;
  }
  return tokens;
}

const MIN_NORMAL = 2 ** -1022;
/** The significant bits float64 keeps of a subnormal x: those at or above 2^-1074. */
const subnormalBits = (x: number) => Math.floor(Math.log2(Math.abs(x))) + 1075;

/** A number float64 cannot hold would silently become Infinity or 0. */
function checkRange(text: string, line: number): string {
  const x = Number(text);
  if (!Number.isFinite(x)) throw new CheckError(line, `the number ${text} is too large for float64 (at most about 1.8e308)`);
  if (x === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) throw new CheckError(line, `the number ${text} is too small for float64 (it would be 0)`);
  const shown = text.length > 20 ? text.slice(0, 17) + '...' : text;
  // Below 2^-1022 float64 is subnormal: it keeps fewer than 53 significant bits (1e-310 has 45), so
  // what is computed from such a number has lost digits the claims may rely on.
  if (x !== 0 && Math.abs(x) < MIN_NORMAL) {
    throw new CheckError(
      line,
      `the number ${shown} is below float64's normal range (about 2.2e-308), where it holds only ${subnormalBits(x)} of its 53 significant bits; scale the calculation (work in units of 1e-300, say)`,
    );
  }
  if (!decimal(text)) {
    throw new CheckError(
      line,
      `the number ${shown} has more digits than the checker holds exactly (fractions of up to 1,100 bits: about 330 significant digits, and a last digit at 1e-331 at the furthest)`,
    );
  }
  return text;
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly line: number,
    private readonly known: (name: string) => boolean,
  ) {}

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
  unexpected(): never {
    return this.fail('unexpected');
  }
  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  /**
   * A derivative written without spaces, where X, Y and Z are names of the file (not a division):
   * `dX/dY`, the second derivative `d2X/dY^2`, or the mixed one `d(dX/dY)/dZ`; and its token count.
   */
  derivativeAhead(at = this.pos): (Derivative & { length: number }) | null {
    const t = (i: number) => this.tokens[at + i];
    const joined = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => t(from + i)).every((x) => x?.joined);
    const quotient = (i: number, prefix: string) => {
      const [a, slash, b] = [t(i), t(i + 1), t(i + 2)];
      if (a?.type !== 'name' || slash?.text !== '/' || b?.type !== 'name' || !joined(i + 1, i + 2)) return null;
      if (!a.text.startsWith(prefix) || !b.text.startsWith('d')) return null;
      const of = a.text.slice(prefix.length),
        wrt = b.text.slice(1);
      return this.known(of) && this.known(wrt) ? { of, wrt } : null;
    };
    const first = quotient(0, 'd');
    if (first) return { ...first, length: 3 };
    const second = quotient(0, 'd2');
    if (second && t(3)?.text === '^' && t(4)?.text === '2' && joined(3, 4)) return { ...second, wrt2: second.wrt, length: 5 };
    if (t(0)?.text === 'd' && t(1)?.text === '(' && joined(1, 2)) {
      const inner = quotient(2, 'd'),
        z = t(7);
      if (inner && t(5)?.text === ')' && t(6)?.text === '/' && z?.type === 'name' && z.text.startsWith('d') && joined(5, 7) && this.known(z.text.slice(1))) {
        return { ...inner, wrt2: z.text.slice(1), length: 8 };
      }
    }
    return null;
  }

  /** Operators of precedence at least `minPrec`; + - make one chain, * / @ another, ^ nests (right to left). */
  expression(minPrec = 0): Node {
    if (++this.depth > MAX_NESTING)
      throw new CheckError(this.line, `the expression nests too deep: more than ${MAX_NESTING} levels of parentheses, calls, signs or powers`);
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      if (!t) break;
      const implicit = (t.text === '(' || t.type === 'name') && left.kind === 'num'; // 2(o - y), 2x
      const op = implicit ? '*' : t.text;
      const prec = op === '+' || op === '-' ? 1 : op === '*' || op === '/' || op === '@' ? 2 : op === '^' ? 4 : -1;
      if (prec < 0 || prec < minPrec) break;
      if (!implicit) this.pos++;
      if (op === '^') {
        left = { kind: 'power', base: left, exponent: this.expression(prec) };
        continue;
      }
      const arg = this.expression(prec + 1);
      // Extend a chain of the same precedence (even a parenthesised one: (a - b) - c is a - b - c).
      if (left.kind === 'chain' && precedence(left) === prec) left.rest.push({ op: op as ChainOp, arg });
      else left = { kind: 'chain', first: left, rest: [{ op: op as ChainOp, arg }] };
    }
    this.depth--;
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
        this.pos += d.length;
        return { kind: 'deriv', of: d.of, wrt: d.wrt, wrt2: d.wrt2 };
      }
      this.pos++;
      const arity = functions.get(t.text);
      if (this.peek()?.text === '(' && arity === undefined)
        throw new CheckError(this.line, `unknown function '${t.text}' (the functions are ${[...functions.keys()].join(', ')})`);
      if (arity !== undefined && this.peek()?.text === '(') {
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
        if (args.length !== arity) throw new CheckError(this.line, `${t.text} takes ${arity} argument${arity > 1 ? 's' : ''}, got ${args.length}`);
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
  if (n.kind === 'matrix') return n.rows.every((r) => r.every((c) => c.kind !== 'matrix' && isLiteral(c))); // [[[1]]] is no matrix
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
  const lines = source
    .split(/\r?\n/)
    .map((raw, i) => ({ line: i + 1, text: raw.replace(/#.*$/, '').trim() }))
    .filter((l) => l.text);
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
    const last = rest[rest.length - 1];
    const blank = last.length === 1 && last[0].text === '?';
    if (blank) rest.pop();
    if ([head, ...rest].some((p) => p.some((t) => t.text === '?'))) {
      throw new CheckError(line, "a blank '?' stands alone after the last '=' of a line (h1 = I1*w1 + b1 = ?)");
    }
    const headParser = new Parser(head, line, known);
    let lhs: Lhs;
    if (head.length === 1 && head[0].type === 'name') lhs = { kind: 'name', name: head[0].text };
    else {
      const d = headParser.derivativeAhead();
      if (!d || head.length !== d.length) {
        const shown = head.map((t) => t.text).join('');
        const m = /^d([^/]+)\/d(.+)$/.exec(shown);
        throw new CheckError(
          line,
          m ? `unknown name '${known(m[1]) ? m[2] : m[1]}' in ${shown}` : `syntax error: the left side must be a name or dX/dY, got '${shown}'`,
        );
      }
      lhs = { kind: 'deriv', of: d.of, wrt: d.wrt, wrt2: d.wrt2 };
    }
    if (blank && rest.length === 0 && lhs.kind === 'name') {
      throw new CheckError(
        line,
        `'${lhs.name} = ?' leaves a given blank; a given needs its number (a blank stands for a computed value: ${lhs.name} = expression = ?)`,
      );
    }
    const nodes = rest.map((tokens) => {
      if (tokens.length === 0) throw new CheckError(line, "syntax error: nothing after '='");
      const p = new Parser(tokens, line, known);
      const node = p.expression();
      if (!p.atEnd()) p.unexpected();
      return node;
    });
    if (blank) return { line, text, lhs, exprs: nodes, blank };
    const claim = nodes[nodes.length - 1];
    const hasClaim = isLiteral(claim) && (nodes.length > 1 || lhs.kind === 'deriv');
    const exprs = hasClaim ? nodes.slice(0, -1) : nodes;
    if (lhs.kind === 'deriv' && !hasClaim) throw new CheckError(line, `${derivText(lhs)} needs a claimed number at the end (or a blank, ?)`);
    return { line, text, lhs, exprs, claim: hasClaim ? claim : undefined };
  });
}

const precedence = (n: Node): number =>
  n.kind === 'chain' ? (n.rest[0].op === '+' || n.rest[0].op === '-' ? 1 : 2) : n.kind === 'power' ? 4 : n.kind === 'neg' ? 3 : 5;

/** The expression back as text, with only the parentheses it needs. */
export function show(n: Node): string {
  switch (n.kind) {
    case 'num':
      return n.text;
    case 'name':
      return n.name;
    case 'deriv':
      return derivText(n);
    case 'neg':
      return `-${paren(n.arg, precedence(n) + 1)}`;
    case 'call':
      return `${n.fn}(${n.args.map(show).join(', ')})`;
    case 'matrix':
      return n.vector ? `[${n.rows[0].map(show).join(', ')}]` : `[${n.rows.map((r) => `[${r.map(show).join(', ')}]`).join(', ')}]`;
    case 'power':
      return `${paren(n.base, 5)}^${paren(n.exponent, 4)}`;
    case 'chain': {
      const p = precedence(n);
      return [paren(n.first, p), ...n.rest.map((r) => `${r.op} ${paren(r.arg, p + 1)}`)].join(' ');
    }
  }
}

/** A chain's operand as text, in parentheses when it binds less tightly than `min`. */
export const paren = (n: Node, min: number) => (precedence(n) < min ? `(${show(n)})` : show(n));

/** The names and derivatives an expression refers to. */
export function references(n: Node, out: { names: Set<string>; derivs: Derivative[] } = { names: new Set(), derivs: [] }) {
  if (n.kind === 'name') out.names.add(n.name);
  else if (n.kind === 'deriv') out.derivs.push({ of: n.of, wrt: n.wrt, wrt2: n.wrt2 });
  else if (n.kind === 'chain') {
    references(n.first, out);
    for (const r of n.rest) references(r.arg, out);
  } else if (n.kind === 'power') {
    references(n.base, out);
    references(n.exponent, out);
  } else if (n.kind === 'neg') references(n.arg, out);
  else if (n.kind === 'call') n.args.forEach((a) => references(a, out));
  else if (n.kind === 'matrix') n.rows.flat().forEach((a) => references(a, out));
  return out;
}
