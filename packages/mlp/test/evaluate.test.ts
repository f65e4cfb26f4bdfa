// evaluate's scores for the paper's MLP (MLP.infer: a tanh hidden layer fused into one kernel where the
// kernels can) against the forward on the tape, which computes the product, the bias add and tanh in
// turn: the same accuracy, loss and confusion, and scores with the same bits, on MNIST's images, in
// each kernel build the suite runs with (BACKPROP_KERNELS), on one thread and on several.
import { describe, expect, it } from 'vitest';
import { kernels, Rng, setThreads, tidy } from '@backprop/graph';
import { evaluate, loadMnist, MLP, scores, type Network } from '../src/index.ts';

const { test } = loadMnist();
const data = test.slice(0, 2500); // batches of 1,000, 1,000 and 500

/** The same network seen only through `Network`: scores from `forward` on the tape, as before MLP.infer. */
function onTape(net: MLP): Network {
  return {
    dtype: net.dtype,
    inputSize: net.inputSize,
    outputSize: net.outputSize,
    parameters: () => net.parameters(),
    named: () => net.named(),
    describe: () => net.describe(),
    forward: (t, X) => net.forward(t, X),
  };
}

describe('evaluate with the fused first layer', () => {
  const nets: [string, MLP][] = [
    ['784-800-100-10 tanh (fused)', MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, Rng.seeded(3))],
    ['784-30-10 tanh (30 columns: not fused)', MLP.init({ sizes: [784, 30, 10], activation: 'tanh' }, Rng.seeded(4))],
    ['784-64-10 relu (not fused)', MLP.init({ sizes: [784, 64, 10], activation: 'relu' }, Rng.seeded(5))],
  ];
  // weights 20x larger: sums far out, where tanh rounds to ±1
  const big = MLP.init({ sizes: [784, 800, 100, 10], activation: 'tanh' }, Rng.seeded(6));
  for (const p of big.parameters()) p.array.data.forEach((v, i, d) => (d[i] = 20 * v));
  nets.push(['784-800-100-10 tanh, saturated (fused)', big]);

  it.each(nets)('%s: the accuracy, loss and confusion of the tape, and its scores bit for bit (a blank image too)', (_, net) => {
    expect(evaluate(net, data, 'hinge')).toEqual(evaluate(onTape(net), data, 'hinge'));
    expect(evaluate(net, data, 'ce')).toEqual(evaluate(onTape(net), data, 'ce'));
    tidy(() => {
      const { X } = data.batch(Int32Array.from({ length: 300 }, (_, i) => 7 * i));
      X.array.data.fill(0, 0, 784); // a blank image: its row of X W is all zero
      expect(Buffer.compare(scores(net, X).bytes(), scores(onTape(net), X).bytes())).toBe(0);
    });
  });

  it("the fused kernel runs for the paper's first layer (wherever the WebAssembly kernels do), and declines what it does not cover", () => {
    const [, net] = nets[0];
    tidy(() => {
      const { X } = data.batch(Int32Array.from({ length: 100 }, (_, i) => i));
      const fused = kernels.matmulAddTanh(X.array, net.layers[0].W.array, net.layers[0].b.array);
      expect(fused !== null).toBe(process.env.BACKPROP_KERNELS !== 'js');
      const [, narrow] = nets[1];
      expect(kernels.matmulAddTanh(X.array, narrow.layers[0].W.array, narrow.layers[0].b.array)).toBeNull(); // 30 columns
    });
  });

  it('the same numbers on 1, 2 and 3 kernel threads', async () => {
    const [, net] = nets[0];
    await setThreads(1);
    const one = evaluate(net, data, 'hinge');
    for (const threads of [2, 3]) {
      await setThreads(threads);
      expect(evaluate(net, data, 'hinge')).toEqual(one);
    }
    await setThreads(1);
  }, 60_000);
});
