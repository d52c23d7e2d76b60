// Configuration: defaults, and a clear refusal of every bad value (also at process start).
import { spawnSync } from 'node:child_process';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded database in ./data with demo users, on 127.0.0.1:3000', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      publicUrlFromEnv: false,
      database: { kind: 'pglite', dataDir: './data' },
      seedDemo: true,
      cookieSecure: true,
      cookieSameSite: 'lax',
      refreshReuseGraceS: 5,
      validateResponses: true,
      logLevel: 'info',
    });
    expect(c.rateLimits.enabled).toBe(true);
    expect(c.rateLimits.loginPerIp).toEqual({ points: 10, durationS: 60 });
    // Per account: 5 failures a minute from one network, 50 from all of them together.
    expect(c.rateLimits.loginPerAccount).toEqual({ points: 5, durationS: 60 });
    expect(c.rateLimits.loginPerAccountTotal).toEqual({ points: 50, durationS: 60 });
  });

  it('keeps the per-account total at ten networks\' worth of a stricter per-network limit, and refuses a total one network could fill', () => {
    expect(loadConfig({ RATE_LIMIT_LOGIN_ACCOUNT: '5/300' }).rateLimits.loginPerAccountTotal).toEqual({ points: 50, durationS: 300 });
    expect(loadConfig({ RATE_LIMIT_LOGIN_ACCOUNT: '3/60', RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: '4/60' }).rateLimits.loginPerAccountTotal).toEqual({ points: 4, durationS: 60 });
    for (const total of ['5/60', '3/60', '100/3600']) {
      expect(() => loadConfig({ RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: total }), total).toThrow(/RATE_LIMIT_LOGIN_ACCOUNT_TOTAL must allow more attempts, and at a higher rate, than RATE_LIMIT_LOGIN_ACCOUNT/);
    }
  });

  it('takes PUBLIC_URL as given (no trailing slash); without it, http://HOST:PORT, IPv6 in brackets', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com/' })).toMatchObject({ publicUrl: 'https://auth.example.com', publicUrlFromEnv: true });
    expect(loadConfig({ HOST: '::1', PORT: '8080' })).toMatchObject({ publicUrl: 'http://[::1]:8080', publicUrlFromEnv: false });
  });

  it('reads memory:// and postgres:// targets; no demo users on PostgreSQL unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'memory://' }).database).toEqual({ kind: 'pglite-memory' });
    const pg = loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/gh' });
    expect(pg.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/gh', timeoutMs: 10_000 });
    expect(pg.seedDemo).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y', SEED_DEMO: 'on' }).seedDemo).toBe(true);
  });

  it('bounds waits for PostgreSQL by DATABASE_TIMEOUT_MS, 10 s unless set; 0 is no bound', () => {
    const target = (env: Record<string, string>) => loadConfig({ DATABASE_URL: 'postgres://x/y', ...env }).database;
    expect(target({ DATABASE_TIMEOUT_MS: '2500' })).toEqual({ kind: 'postgres', url: 'postgres://x/y', timeoutMs: 2500 });
    expect(target({ DATABASE_TIMEOUT_MS: '0' })).toMatchObject({ timeoutMs: 0 });
    expect(target({ DATABASE_TIMEOUT_MS: '600000' })).toMatchObject({ timeoutMs: 600_000 });
    expect(target({ DATABASE_TIMEOUT_MS: '' })).toMatchObject({ timeoutMs: 10_000 });
  });

  it('reads METRICS_TOKEN, and never echoes a bad one in the error', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'a-long-enough-scrape-token' }).metricsToken).toBe('a-long-enough-scrape-token');
    let message = '';
    try {
      loadConfig({ METRICS_TOKEN: 'short-secret' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('METRICS_TOKEN must be 16 to 256 visible ASCII characters (value not shown)');
    expect(message).not.toContain('short-secret');
  });

  it('turns response validation off in production, and rate limits off on request', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).validateResponses).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', VALIDATE_RESPONSES: 'true' }).validateResponses).toBe(true);
    expect(loadConfig({ RATE_LIMITS: 'off' }).rateLimits.enabled).toBe(false);
    expect(loadConfig({ CORS_ORIGINS: 'http://a.test, https://b.test:8443' }).corsOrigins).toEqual([
      'http://a.test',
      'https://b.test:8443',
    ]);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT: PORT must be a whole number from 0 to 65535 \(got "abc"\)/],
    [{ PORT: '70000' }, /PORT must be a whole number/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be unset/],
    [{ SEED_DEMO: 'maybe' }, /SEED_DEMO must be one of/],
    [{ COOKIE_SAMESITE: 'sometimes' }, /COOKIE_SAMESITE must be Lax, Strict or None/],
    [{ COOKIE_SAMESITE: 'None', COOKIE_SECURE: 'false' }, /COOKIE_SAMESITE=None requires COOKIE_SECURE=true/],
    [{ OAUTH_AUDIENCE: 'maho-api' }, /MAHO_AUDIENCE and OAUTH_AUDIENCE must differ/],
    [{ MAHO_AUDIENCE: 'gatehouse:dummyjson' }, /built-in audiences/],
    [{ OAUTH_AUDIENCE: 'gatehouse:cocart' }, /built-in audiences/],
    [{ RATE_LIMITS: 'sometimes' }, /RATE_LIMITS must be on or off/],
    [{ RATE_LIMIT_LOGIN_IP: 'ten' }, /RATE_LIMIT_LOGIN_IP must look like N\/S/],
    [{ RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: '0/60' }, /RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: N and S must both be at least 1/],
    [{ REFRESH_REUSE_GRACE_S: '-1' }, /REFRESH_REUSE_GRACE_S must be a whole number from 0 to 300/],
    [{ ACCESS_TOKEN_TTL_S: '5' }, /ACCESS_TOKEN_TTL_S must be a whole number from 60/],
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS: each origin must be scheme:\/\/host/],
    [{ CORS_ORIGINS: 'http://a.test/path' }, /CORS_ORIGINS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ DATABASE_TIMEOUT_MS: '600001' }, /DATABASE_TIMEOUT_MS: DATABASE_TIMEOUT_MS must be a whole number from 0 to 600000 \(got "600001"\)/],
    [{ DATABASE_TIMEOUT_MS: '-1' }, /DATABASE_TIMEOUT_MS must be a whole number from 0 to 600000/],
    [{ DATABASE_TIMEOUT_MS: '1.5' }, /DATABASE_TIMEOUT_MS must be a whole number from 0 to 600000/],
    [{ DATABASE_TIMEOUT_MS: '10s' }, /DATABASE_TIMEOUT_MS must be a whole number from 0 to 600000/],
    [{ HEADERS_TIMEOUT_MS: '50' }, /HEADERS_TIMEOUT_MS must be a whole number from 100 to 300000/],
    [{ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '2000' }, /HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS/],
  ])('refuses %o with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("takes TRUST_PROXY as Express's trust proxy does, and refuses what Express would fail to start with", () => {
    const trusted = (value: string) => express().set('trust proxy', loadConfig({ TRUST_PROXY: value }).trustProxy).get('trust proxy fn') as (a: string, i: number) => boolean;
    for (const [value, parsed] of [
      ['true', true],
      ['false', false],
      ['2', 2],
      ['loopback, uniquelocal', 'loopback, uniquelocal'],
      ['10.0.0.0/8, fd00::/8', '10.0.0.0/8, fd00::/8'],
      ['10.0.0.0/255.0.0.0', '10.0.0.0/255.0.0.0'],
      ['0.0.0.0/1,128.0.0.0/1', '0.0.0.0/1,128.0.0.0/1'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['fe80::1%eth0/64', 'fe80::1%eth0/64'],
    ] as const) {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy, value).toBe(parsed);
      expect(() => trusted(value), value).not.toThrow();
    }
    expect(trusted('10.0.0.0/255.0.0.0')('10.9.8.7', 0)).toBe(true);
    expect(trusted('10.0.0.0/255.0.0.0')('11.0.0.1', 0)).toBe(false);
    for (const bad of ['0.0.0.0/0', '::/0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/255.0.255.0', '10.0.0.0/0.0.0.0', 'proxy.example.com', '10.0.0.1,', '::10.0.0.1', '010.0.0.1', '10.0.0.0/8x']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(
        `TRUST_PROXY: TRUST_PROXY must be a hop count, or addresses and ranges separated by commas (e.g. 10.0.0.0/8, fd00::/8, loopback); a range of /0 is not accepted (got ${JSON.stringify(bad)})`,
      );
    }
    // What the check is for: Express refuses these at start, with a TypeError; and it would
    // take 010.0.0.1 for 8.0.0.1.
    for (const bad of ['0.0.0.0/0', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1,', '::10.0.0.1', '10.0.0.0/255.0.255.0']) {
      expect(() => express().set('trust proxy', bad), bad).toThrow(TypeError);
    }
    expect(express().set('trust proxy', '010.0.0.1').get('trust proxy fn')('8.0.0.1', 0)).toBe(true);
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', RATE_LIMITS: 'y' })).toThrow(/PORT[\s\S]*RATE_LIMITS|RATE_LIMITS[\s\S]*PORT/);
  });

  it('makes the server exit with status 2 and the message, before opening anything', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: 'not-a-port', DATABASE_TIMEOUT_MS: 'forever', DATABASE_URL: 'memory://' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('Invalid configuration:');
    expect(run.stderr).toContain('PORT must be a whole number from 0 to 65535 (got "not-a-port")');
    expect(run.stderr).toContain('DATABASE_TIMEOUT_MS must be a whole number from 0 to 600000 (got "forever")');
  });
});
