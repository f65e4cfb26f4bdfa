// One fast-check seed per run, printed, so a failing property can be replayed with FC_SEED=<seed>.
import fc from 'fast-check';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 2 ** 31;
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 40) });
console.log(`fast-check seed ${seed} (replay with FC_SEED=${seed})`);
