// Graceful shutdown: on SIGTERM the server stops accepting, lets in-flight requests finish,
// closes the database and exits 0. The real entry point, as `npm start` runs it.
import { describe, expect, it } from 'vitest';
import { spawnServer } from './helpers/process.js';

describe('SIGTERM', () => {
  it('answers what is on its way, finishes in-flight logins, then exits 0 and accepts nothing more', async () => {
    const server = await spawnServer({ DATABASE_URL: 'memory://', RATE_LIMITS: 'off', LOG_LEVEL: 'info', SHUTDOWN_DELAY_MS: '3000' });
    const { url } = server;
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
    server.child.kill('SIGTERM');
    // The lame-duck window (SHUTDOWN_DELAY_MS): still answering, but closing each connection.
    const during = await fetch(`${url}/healthz`);
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    // …and telling the load balancer to stop sending.
    const readiness = await fetch(`${url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toEqual({ status: 'draining' });
    expect(await Promise.all(logins)).toEqual(Array(16).fill(200));
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"msg":"shutting down"');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
