// The entry of the evaluation thread (evaluation-thread.ts): the worker runs `serve`.
import { serve } from './evaluation-thread.ts';

serve();
