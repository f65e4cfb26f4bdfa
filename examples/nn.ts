// Layers on the graph package alone: a network declared, drawn from a seed, trained a few SGD steps
// (dropout and batch statistics in training), evaluated (running statistics, no dropout), and its
// tensors listed by name, as a checkpoint would hold them.
import { nn, Rng, SGD, Tape, tidy } from '@backprop/graph';

const rng = Rng.seeded(1);
const X = rng.randn([64, 8]),
  y = Array.from({ length: 64 }, (_, i) => (X.get(i, 0) * X.get(i, 1) > 0 ? 1 : 0));

// A layer of your own: a label, the tensors it declares, and a forward pass on the tape.
const scale = (d: number): nn.Layer => ({
  label: `Scale(${d})`,
  parameters: { s: { shape: [d], init: 'ones' } },
  forward: (t, x, { p }) => t.mul(x, p.s),
});

const net = new nn.Sequential([
  new nn.Linear(8, 32, { init: 'he' }),
  new nn.BatchNorm(32),
  new nn.Activation('relu'),
  new nn.Dropout(0.1),
  new nn.Residual(new nn.Linear(32, 32, { activation: 'tanh' })),
  scale(32),
  new nn.Linear(32, 2),
]);
const model = nn.Model.init(net, rng); // the parameters drawn, the running statistics filled
const sgd = new SGD(model.parameters(), 0.5);

for (let step = 1; step <= 30; step++) {
  const loss = tidy(() => {
    const t = new Tape();
    const l = t.crossEntropy(model.forward(t, X, { training: true, rng }), y); // then the running statistics are updated
    t.backward(l);
    sgd.step();
    return l.item();
  });
  if (step % 10 === 0) console.log(`step ${step}: cross-entropy ${loss.toFixed(4)}`);
}
const S = tidy(() => {
  const t = new Tape();
  return t.noRecord(() => model.forward(t, X)).toArray() as number[][];
}); // evaluation
console.log(`training accuracy in evaluation mode: ${S.filter((s, i) => (s[1] > s[0] ? 1 : 0) === y[i]).length}/64`);
console.log([...model.stateDict()].map(([name, v]) => `${name} [${v.shape}]`).join(', '));
