/** The version of the command line, from its package.json (one source for --version and config.json). */
import { readFileSync } from 'node:fs';

export const version: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
