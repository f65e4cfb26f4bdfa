// The evaluation thread's entry when the package runs from its TypeScript sources (the tests): a
// worker starts without its parent's module hooks, so this registers tsx before it loads them. The
// published package starts dist/evaluation-worker.js, plain JavaScript, instead.
import { register } from 'tsx/esm/api';

register();
await import('./evaluation-worker.ts');
