// The entry of the evaluation thread (evaluation-thread.ts). A worker starts without the parent's
// module hooks, so it registers tsx itself before it loads the TypeScript sources.
import { register } from 'tsx/esm/api';

register();
const { serve } = await import('./evaluation-thread.ts');
serve();
