// `npm run web` as documented (docs/site.md): it builds the site, prints its address and serves it
// cross-origin isolated; a busy port or a bad one is a one-line error naming the way out.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null) process.kill(-p.pid!, 'SIGTERM');
});

/** Starts `npm run web -- ARGS` in its own process group; resolves with what it printed once it has printed `until`, or exited. */
function web(args: string[], until: RegExp): Promise<{ out: string; code: number | null }> {
  const p = spawn('npm', ['run', '--silent', 'web', '--', ...args], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(p);
  let out = '';
  return new Promise((resolve) => {
    const seen = (chunk: Buffer) => {
      out += chunk.toString();
      if (until.test(out)) resolve({ out, code: null });
    };
    p.stdout!.on('data', seen);
    p.stderr!.on('data', seen);
    p.on('exit', (code) => resolve({ out, code }));
  });
}

describe('npm run web', () => {
  it('builds the site and serves it at the address it prints, with the headers SharedArrayBuffer needs', async () => {
    const { out } = await web(['--port', '0', '--no-api'], /the site is at (\S+)/);
    const url = /the site is at (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C stops it\)/.exec(out)![1];
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await page.text()).toContain('<script type="module" src="./main.js"></script>');
    const script = await fetch(`${url}main.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(`${url}..%2f..%2fpackage.json`)).status).toBe(403);
    expect((await fetch(`${url}%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${url}no-such-file.js`)).status).toBe(404);
  }, 120_000);

  it('says so in one line when the port is taken, and exits 1', async () => {
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const port = (busy.address() as AddressInfo).port;
    try {
      const { out, code } = await web(['--port', String(port), '--no-api'], /$^/);
      expect(code).toBe(1);
      expect(out.trim().split('\n').at(-1)).toBe(`port ${port} is in use; choose another with --port N (0 picks a free one)`);
    } finally {
      busy.close();
    }
  }, 120_000);

  it('refuses a port that is no port before building anything', () => {
    const r = spawnSync('npm', ['run', '--silent', 'web', '--', '--port', 'http'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('--port http: expected a port number from 0 to 65535');
  });
});
