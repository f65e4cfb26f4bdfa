/** `pnpm bench`: every benchmark, printed as ratios against references measured in the same run. */
import { benchMatmul } from './matmul.ts';
import { benchEpoch } from './epoch.ts';

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
benchMatmul();
benchEpoch();
