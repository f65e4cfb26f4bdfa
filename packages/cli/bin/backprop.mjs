#!/usr/bin/env node
// The `backprop` binary: runs the TypeScript sources through tsx (no build step, no stale dist/).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
