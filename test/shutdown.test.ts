// Graceful shutdown: on SIGTERM the server stops accepting, lets in-flight requests finish,
// closes the database and exits 0. The real entry point, as `npm start` runs it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';

describe('SIGTERM', () => {
  it('answers what is on its way, finishes in-flight logins, then exits 0 and accepts nothing more', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: String(port), DATABASE_URL: 'memory://', RATE_LIMITS: 'off', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (c: Buffer) => (output += c.toString()));
    server.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; !output.includes('Gatehouse listening'); i++) {
      if (i > 300 || server.exitCode !== null) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Each login costs one argon2id hash (~15 ms of CPU): 16 of them are still running when
    // the signal arrives.
    const logins = Array.from({ length: 16 }, () =>
      fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'emilys', password: 'emilyspass' }),
      }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 15));
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    // The lame-duck window (SHUTDOWN_DELAY_MS): still answering, but closing each connection.
    const during = await fetch(`${url}/healthz`);
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    expect(await Promise.all(logins)).toEqual(Array(16).fill(200));
    const [code] = await exited;
    expect(code).toBe(0);
    expect(output).toContain('"msg":"shutting down"');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
