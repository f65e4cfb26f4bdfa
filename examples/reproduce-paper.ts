// Trains the paper's final network (§3.5) and prints the accuracy after every epoch.
import { loadMnist, paperConfig, saveModel, startState, train } from '@backprop/mlp';

const epochs = Number(process.argv[2] ?? paperConfig.epochs);
const config = { ...paperConfig, epochs };
const data = loadMnist();
const state = startState(config);
const out = await train(config, data, state, {
  onEpoch: (s) =>
    console.log(
      JSON.stringify({
        epoch: s.epoch,
        train: s.train.accuracy,
        test: s.test.accuracy,
        trainLoss: s.train.loss,
        meanIterationLoss: s.meanIterationLoss,
        seconds: s.seconds,
      }),
    ),
});
if (out.status === 'diverged') console.log(out.message);
saveModel(process.argv[3] ?? 'paper-final.safetensors', out.state.net, { config });
