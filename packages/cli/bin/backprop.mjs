#!/usr/bin/env node
// The `backprop` binary: runs the TypeScript sources through tsx (no build step, no stale dist/).
// yargs is plain JavaScript that every command loads: it is loaded before tsx's hooks, which would
// otherwise see each of its modules (60 ms of the start of every command).
import 'yargs';
import 'yargs/helpers';
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
