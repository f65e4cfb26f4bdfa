import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { full, keep, Memory, Rng, Scope, Tape, tensor, tidy, zeros, type Tensor } from '../src/index.ts';
import { defaultMemory, inMemory } from '../src/kernels/memory.ts';

const USED_AFTER = /Tensor used after its scope ended/;

/** Fills freed blocks with 7s, as the next step of a program would reuse them. */
const churn = () => tidy(() => void Array.from({ length: 8 }, (_, i) => full([i + 1, 3], 7)));

/** A user's own layer class: not a plain object, so `tidy` cannot walk into it. */
class Linear {
  readonly W: Tensor;
  constructor(rng: Rng, inputs: number, outputs: number) {
    this.W = rng.randn([inputs, outputs], { requiresGrad: true });
  }
  forward(t: Tape, x: Tensor): Tensor {
    return t.matmul(x, this.W);
  }
}

describe('ownership: the two programs of the issue', () => {
  it('a model built inside tidy keeps its weights: parameters are owned by what holds them', () => {
    const layer = tidy(() => new Linear(Rng.seeded(1), 3, 2));
    const want = new Linear(Rng.seeded(1), 3, 2).W.toFlatArray();
    churn();
    expect(layer.W.toFlatArray()).toEqual(want);
    const x = tensor([[1, 2, 3]]);
    const t = new Tape();
    expect(layer.forward(t, x).toFlatArray()).toEqual([want[0] + 2 * want[2] + 3 * want[4], want[1] + 2 * want[3] + 3 * want[5]].map(Math.fround));
  });

  it('a gradient computed inside tidy is held by its parameter after the scope', () => {
    const W = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const x = tensor([[5, 6]]);
    tidy(() => {
      const t = new Tape();
      t.backward(t.sum(t.matmul(x, W)));
    });
    churn();
    // d sum(x W) / dW = xᵀ 1: each row i of W gets x_i
    expect(W.grad!.toFlatArray()).toEqual([5, 5, 6, 6]);
  });
});

describe('misuse is an error that names what made the tensor', () => {
  it('a temporary stored outside its scope throws when read', () => {
    let leaked: Tensor | null = null;
    tidy(() => {
      const t = new Tape();
      leaked = t.tanh(tensor([[0.5, 1]]));
    });
    churn();
    expect(() => leaked!.toFlatArray()).toThrow(/Tensor used after its scope ended: the \[1,2\] float32 tensor made by tanh was freed with the tidy scope/);
    expect(() => leaked!.array).toThrow(USED_AFTER);
    expect(() => leaked!.grad).toThrow(USED_AFTER);
    expect(leaked!.released).toBe(true);
    expect(() => new Tape().add(leaked!, 1)).toThrow(USED_AFTER);
  });

  it('a user object holding a temporary: the temporary throws, the parameter lives', () => {
    class Holder {
      constructor(
        readonly mask: Tensor,
        readonly W: Tensor,
      ) {}
    }
    const h = tidy(() => new Holder(full([2], 1), tensor([1, 2], { requiresGrad: true })));
    churn();
    expect(() => h.mask.toFlatArray()).toThrow(/made by zeros/);
    expect(h.W.toFlatArray()).toEqual([1, 2]);
  });

  it('a tape whose forward pass ran in an ended scope cannot backpropagate', () => {
    const W = tensor([[1, 2]], { requiresGrad: true });
    const { t, loss } = tidy(() => {
      const t = new Tape();
      const loss = t.sum(t.tanh(t.mul(W, 2)));
      return { t, loss: keep(loss) };
    });
    churn();
    expect(() => t.backward(loss)).toThrow(/backward: the output of tanh \[1,2\] on this tape was freed when the scope of the forward pass ended/);
  });

  it('an old gradient kept across steps throws once a later backward replaced it; a clone lives on', () => {
    const W = tensor([1, 2], { requiresGrad: true });
    const step = (c: number) =>
      tidy(() => {
        const t = new Tape();
        t.backward(t.sum(t.mul(W, c)));
      });
    step(3);
    const first = W.grad!,
      copy = first.clone();
    expect(first.toFlatArray()).toEqual([3, 3]);
    step(4);
    churn();
    expect(W.grad!.toFlatArray()).toEqual([4, 4]);
    expect(() => first.toFlatArray()).toThrow(/was a parameter's gradient, replaced by a later backward.*\.clone\(\) a gradient to keep it/);
    expect(copy.toFlatArray()).toEqual([3, 3]);
  });

  it("accumulates into a parameter's gradient when asked", () => {
    const W = tensor([1, 2], { requiresGrad: true });
    for (const c of [3, 4])
      tidy(() => {
        const t = new Tape();
        t.backward(t.sum(t.mul(W, c)), { accumulate: true });
      });
    expect(W.grad!.toFlatArray()).toEqual([7, 7]);
  });

  it('views keep their base: a transpose returned from tidy lives; a subarray of a block is refused', () => {
    const m = tidy(
      () =>
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]).T,
    );
    churn();
    expect(m.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const base = tensor([1, 2, 3, 4]);
    const part = base.array.data.subarray(1, 3);
    if (defaultMemory().wasm) {
      expect(() => tensor(part)).toThrow(/Tensor: the array is part of a block of the kernels' memory .* copy the part with \.slice\(\)/);
    } else {
      expect(tensor(part).toFlatArray()).toEqual([2, 3]); // the JavaScript heap: the subarray keeps its base alive
    }
    expect(tensor(part.slice()).toFlatArray()).toEqual([2, 3]);
  });

  it('dispose frees a tensor now; using it afterwards throws', () => {
    const W = tensor([1, 2], { requiresGrad: true });
    W.dispose();
    expect(() => W.toFlatArray()).toThrow(/Tensor used after its memory was released: the \[2\] float32 tensor made by tensor was disposed/);
  });

  it('an explicit Scope owns what is allocated while it is open, whatever the order scopes close in', () => {
    const outer = new Scope(),
      inner = new Scope();
    const a = tensor([1]);
    outer.dispose(); // closed before the inner one: a belongs to inner, which is still open
    expect(a.toFlatArray()).toEqual([1]);
    const b = tensor([2]); // inner is the innermost open scope
    inner.dispose();
    expect(() => a.item()).toThrow(USED_AFTER);
    expect(() => b.item()).toThrow(USED_AFTER);
    expect(tensor([3]).item()).toBe(3); // outside every scope: owned by its referrers
  });
});

describe("a step reuses the previous step's memory", () => {
  it('the high-water mark stays put over training steps, with no ritual', () => {
    const memory = defaultMemory();
    const rng = Rng.seeded(3);
    const W = rng.randn([50, 20], { requiresGrad: true });
    const step = () =>
      tidy(() => {
        const t = new Tape();
        t.backward(t.sum(t.tanh(t.matmul(rng.randn([4, 50]), W))));
        W.array.data.forEach((w, i, d) => (d[i] = w - 0.01 * W.grad!.array.data[i]));
      });
    step();
    step();
    const top = memory.used;
    for (let i = 0; i < 20; i++) step();
    expect(memory.used).toBe(top);
  });
});

describe('the memory grows on demand', () => {
  const MiB = 1024 * 1024;

  it('starts at 1 MiB, not at its maximum (1 GiB, or BACKPROP_WASM_MB)', () => {
    const memory = new Memory({ wasm: true });
    expect(memory.wasm!.buffer.byteLength).toBe(MiB);
    expect(memory.size).toBe(MiB);
    expect(memory.maximum).toBe(Number(process.env.BACKPROP_WASM_MB ?? 1024) * MiB);
  });

  it('an array made before a growth keeps its values, stays in place for the kernels, and computes the same bits', () => {
    const memory = defaultMemory();
    if (!memory.wasm) return expect(process.env.BACKPROP_KERNELS).toBe('js');
    const rng = Rng.seeded(5);
    const A = rng.randn([7, 9]),
      B = rng.randn([9, 5]);
    const before = A.toFlatArray(),
      product = tidy(() => new Tape().matmul(A, B).toFlatArray());
    const size = memory.size;
    // more than the memory has left: it grows (doubling at least), and the old views stay valid
    const big = zeros([Math.ceil((size - memory.used) / 4) + 1]);
    expect(memory.size).toBeGreaterThanOrEqual(2 * size);
    expect(inMemory(big.array.data) && inMemory(A.array.data)).toBe(true);
    expect(A.toFlatArray()).toEqual(before);
    const C = rng.randn([9, 5]); // made after the growth, read beside A, made before it
    C.array.data.set(B.array.data);
    expect(tidy(() => new Tape().matmul(A, C).toFlatArray())).toEqual(product);
    big.dispose();
  });

  it('past its maximum, arrays go to the JavaScript heap with their values intact', () => {
    const memory = new Memory({ wasm: true, maximumMiB: 2 });
    const inside = memory.allocate('float32', 1000, 'owned');
    const outside = memory.allocate('float32', 3 * 262144, 'owned'); // 3 MiB
    expect([memory.holds(inside), memory.holds(outside), memory.size]).toEqual([true, false, MiB]);
    outside.fill(2);
    expect(outside.every((v) => v === 2)).toBe(true);
    const grown = memory.allocate('float32', 262144 - 1000, 'owned'); // fits in 2 MiB: grows to the maximum
    expect([memory.holds(grown), memory.holds(inside), memory.size]).toEqual([true, true, 2 * MiB]);
  });
});

// ---------------------------------------------------------------- random programs

/** A tensor of the program, beside its expected values and whether the rules say it is still alive. */
interface Handle {
  tensor: Tensor;
  values: number[];
  /** The scope that owns it (index into the open-scope stack's ids), or null: owned (a parameter, or made outside scopes). */
  scope: number | null;
  alive: boolean;
  /** A view's base, whose memory (and fate) it shares. */
  base?: Handle;
  param?: boolean;
}

type Step =
  | { kind: 'alloc'; values: number[] }
  | { kind: 'param'; values: number[] }
  | { kind: 'op'; op: 'add' | 'mul' | 'tanh' | 'transpose'; a: number; b: number }
  | { kind: 'open' }
  | { kind: 'close'; returned: number[] }
  | { kind: 'keep'; a: number }
  | { kind: 'backward'; p: number; a: number }
  | { kind: 'read'; a: number };

const vec = fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 3, maxLength: 3 });
const idx = fc.nat(40);
const step: fc.Arbitrary<Step> = fc.oneof(
  vec.map((values) => ({ kind: 'alloc' as const, values })),
  vec.map((values) => ({ kind: 'param' as const, values })),
  fc.record({ kind: fc.constant('op' as const), op: fc.constantFrom('add' as const, 'mul' as const, 'tanh' as const, 'transpose' as const), a: idx, b: idx }),
  fc.constant({ kind: 'open' as const }),
  fc.record({ kind: fc.constant('close' as const), returned: fc.array(idx, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('keep' as const), a: idx }),
  fc.record({ kind: fc.constant('backward' as const), p: idx, a: idx }),
  fc.record({ kind: fc.constant('read' as const), a: idx }),
);

/**
 * Runs a program on tensors and, beside it, on plain arrays with the ownership rules written out
 * plainly: a tensor is a temporary of the innermost open scope when it is made (a parameter never
 * is), `keep` and a scope's return move it one scope out, a parameter's gradient belongs to the
 * parameter until a later backward replaces it. Every read of a tensor the rules say is alive must
 * give the plain values; every read of one they say is dead must throw the use-after-free error.
 */
function run(program: Step[]): void {
  const handles: Handle[] = [];
  const scopes: { scope: Scope; id: number }[] = [];
  let nextId = 0;
  const grads = new Map<Handle, Handle>();
  const current = () => (scopes.length ? scopes[scopes.length - 1].id : null);
  const at = (i: number) => (handles.length ? handles[i % handles.length] : null);
  const check = (h: Handle) => {
    if (h.alive) expect(h.tensor.toFlatArray()).toEqual(h.values.map(Math.fround));
    else expect(() => h.tensor.toFlatArray()).toThrow(/Tensor used after its scope ended/);
  };
  /** Moves a handle owned by scope `from` one scope out. */
  const moveOut = (h: Handle, from: number) => {
    if (h.scope !== from) return;
    // (a view's handle has no scope of its own: callers pass its base)
    const i = scopes.findIndex((s) => s.id === from);
    h.scope = i > 0 ? scopes[i - 1].id : null;
  };
  for (const s of program) {
    switch (s.kind) {
      case 'alloc':
        handles.push({ tensor: tensor(s.values), values: s.values, scope: current(), alive: true });
        break;
      case 'param':
        handles.push({ tensor: tensor(s.values, { requiresGrad: true }), values: s.values, scope: null, alive: true, param: true });
        break;
      case 'op': {
        const a = at(s.a),
          b = at(s.b);
        if (!a || !b || !a.alive || !b.alive) break;
        const t = new Tape();
        const f = {
          add: (x: number, y: number) => x + y,
          mul: (x: number, y: number) => Math.fround(x) * Math.fround(y),
          tanh: (x: number) => Math.tanh(x),
          transpose: (x: number) => x,
        }[s.op];
        const out = s.op === 'tanh' ? t.tanh(a.tensor) : s.op === 'transpose' ? t.transpose(a.tensor) : t[s.op](a.tensor, b.tensor);
        if (s.op === 'transpose') {
          // a view: it shares a's memory, and so a's owner and fate
          handles.push({ tensor: out, values: a.values, scope: null, alive: true, base: baseOf(a) });
          break;
        }
        const values = a.values.map((x, i) => Math.fround(f(x, b.values[i])));
        if (s.op === 'tanh') {
          // the SIMD tanh is within a few ulps of Math.tanh: compare to float32 precision
          expect(out.toFlatArray().every((v, i) => Math.abs(v - values[i]) < 1e-6)).toBe(true);
          handles.push({ tensor: out, values: out.toFlatArray(), scope: current(), alive: true });
        } else handles.push({ tensor: out, values, scope: current(), alive: true });
        break;
      }
      case 'open':
        scopes.push({ scope: new Scope(), id: nextId++ });
        break;
      case 'close': {
        const top = scopes[scopes.length - 1];
        if (!top) break;
        for (const r of s.returned) {
          const h = at(r);
          if (h?.alive) {
            h.tensor.keepIn(top.scope);
            moveOut(baseOf(h), top.id);
          }
        }
        top.scope.dispose();
        scopes.pop();
        for (const h of handles) if (baseOf(h).scope === top.id) h.alive = false;
        churn();
        break;
      }
      case 'keep': {
        const h = at(s.a);
        if (!h?.alive || !scopes.length) break;
        keep(h.tensor);
        moveOut(baseOf(h), current()!);
        break;
      }
      case 'backward': {
        const p = at(s.p),
          a = at(s.a);
        if (!p || !a || !p.alive || !a.alive || !p.param || a.tensor.requiresGrad) break;
        const t = new Tape();
        t.backward(t.sum(t.mul(p.tensor, a.tensor)));
        // the gradient is a's values; the one it replaces becomes a temporary of the innermost scope
        const old = grads.get(p);
        if (old) old.scope = current();
        const g: Handle = { tensor: p.tensor.grad!, values: a.values, scope: null, alive: true };
        grads.set(p, g);
        handles.push(g);
        break;
      }
      case 'read': {
        const h = at(s.a);
        if (h) check(h);
        break;
      }
    }
  }
  for (const h of handles) check(h);
  while (scopes.length) scopes.pop()!.scope.dispose();
}

const baseOf = (h: Handle): Handle => h.base ?? h;

describe('random programs', () => {
  it('every value read equals the plain-array program, or the read throws because the rules say the tensor is dead', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (program) => run(program)),
      { numRuns: 200 },
    );
  });
});
