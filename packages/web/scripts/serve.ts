/**
 * `npm run web`: builds the site and serves packages/web/dist/ on http://127.0.0.1:PORT/ (PORT from
 * --port or the PORT variable, default 8080; 0 picks a free one; --no-api builds it without the API
 * reference, which takes typedoc some 20 s). The page is cross-origin isolated
 * (COOP/COEP headers), which SharedArrayBuffer needs: the graph's WebAssembly memory is shared.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSite, distDir } from './build.ts';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.sh': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.ico': 'image/x-icon',
};

/** The headers that make a page cross-origin isolated (window.crossOriginIsolated), on every response. */
export const isolation = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/** A static file server for `dir` on 127.0.0.1:`port`; resolves once it listens. */
export function serveDir(dir: string, port: number): Promise<Server> {
  const root = normalize(dir.endsWith(sep) ? dir : dir + sep);
  const server = createServer((req, res) => {
    const fail = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...isolation });
      res.end(text);
    };
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return fail(400, 'a malformed address');
    }
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) return fail(403, 'outside the site');
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      statSync(file);
    } catch {
      return fail(404, `no such file: ${path}`);
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', ...isolation });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

export const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const port = Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 8080));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port ${process.argv[i + 1] ?? process.env.PORT}: expected a port number from 0 to 65535`);
    process.exit(1);
  }
  await buildSite(distDir, { api: !process.argv.includes('--no-api') });
  try {
    const server = await serveDir(distDir, port);
    console.log(`the site is at ${urlOf(server)} (Ctrl-C stops it)`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    console.error(
      code === 'EADDRINUSE' ? `port ${port} is in use; choose another with --port N (0 picks a free one)` : `cannot serve the site: ${(e as Error).message}`,
    );
    process.exit(1);
  }
}
