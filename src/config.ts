// Configuration comes only from environment variables, parsed and checked once at start.
// A bad value stops the server with a message naming the variable and what it accepts.
import { isIP } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { JWKS_MAX_AGE_S, KEY_REFRESH_INTERVAL_S } from './core/keys.js';
import { MAX_EXPIRES_IN_MINS } from './dialects/dummyjson/policy.js';

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string }
  /**
   * `startFrom`: a PGlite dump (dumpDataDir) to start from instead of running initdb. Not read
   * from the environment; tests start dozens of servers, and initdb is most of each start.
   */
  | { kind: 'pglite-memory'; startFrom?: Blob }
  /**
   * `timeoutMs` (DATABASE_TIMEOUT_MS): how long a connection or a statement may wait for the
   * server (a row lock, a stalled network, a dead server) before it fails; 0: unbounded.
   */
  | { kind: 'postgres'; url: string; timeoutMs: number };

/** "N/S": at most N attempts per S seconds. */
export interface RateLimit {
  points: number;
  durationS: number;
}

export interface Config {
  host: string;
  port: number;
  /**
   * Public base URL of this server; also the `iss` of every token. PUBLIC_URL, else
   * http://HOST:PORT, into which startGatehouse puts the port it really listens on (PORT=0).
   */
  publicUrl: string;
  /** True when publicUrl is PUBLIC_URL, which always wins over the listening address. */
  publicUrlFromEnv: boolean;
  database: DatabaseTarget;
  seedDemo: boolean;
  corsOrigins: string[];
  cookieSecure: boolean;
  cookieSameSite: 'lax' | 'strict' | 'none';
  rateLimits: {
    enabled: boolean;
    loginPerIp: RateLimit;
    loginPerAccount: RateLimit;
    loginPerAccountTotal: RateLimit;
    refreshPerIp: RateLimit;
    refreshPerAccount: RateLimit;
  };
  /** Seconds during which a just-rotated refresh token may be presented again (concurrent tabs). */
  refreshReuseGraceS: number;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  sessionMaxAgeS: number;
  clockToleranceS: number;
  /** Default delay between `gatehouse keys rotate` and the new key's first signature. */
  keyRotationDelayS: number;
  /** KEY_ENCRYPTION_KEY: 32 bytes that seal the private signing keys in the database; unset, they are stored in clear. */
  keyEncryptionKey: Uint8Array | undefined;
  /**
   * The longest access token any dialect can issue: a key that stopped signing must keep
   * verifying (and stay in the JWKS) this long, plus CLOCK_TOLERANCE_S.
   */
  maxAccessTokenTtlS: number;
  cocart: {
    /** CoCart's access token lifetime (the original's default: 10 days). */
    accessTokenTtlS: number;
    /** Refuse a CoCart token used from another IP address than at login. */
    bindIp: boolean;
  };
  maho: {
    /** The `aud` of Maho tokens (Maho's default: maho-api). */
    audience: string;
    accessTokenTtlS: number;
  };
  oauth: {
    /** The `aud` of tokens from /oauth/token (OAUTH_AUDIENCE); no dialect route accepts it. */
    audience: string;
    /** ACCESS_TOKEN_TTL_S. */
    accessTokenTtlS: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  validateResponses: boolean;
  bodyLimitBytes: number;
  /** Slow clients (slowloris): all headers within headersTimeoutMs, the whole request within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** After SIGTERM, keep answering this long (with Connection: close) before closing the listener. */
  shutdownDelayMs: number;
  trustProxy: boolean | number | string;
  /** When set, GET /metrics requires it as a Bearer token. */
  metricsToken: string | undefined;
  production: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const bool = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['1', '0', 'true', 'false', 'on', 'off', 'yes', 'no'].includes(v), {
      message: `${name} must be one of true/false, on/off, yes/no, 1/0`,
    })
    .transform((v) => ['1', 'true', 'on', 'yes'].includes(v));

const int = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `${name} must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `${name} must be a whole number from ${min} to ${max}` });

const rateLimit = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+\/\d+$/, { message: `${name} must look like N/S: N attempts per S seconds, e.g. 10/60` })
    .transform((v): RateLimit => {
      const [points, durationS] = v.split('/').map(Number) as [number, number];
      return { points, durationS };
    })
    .refine((l) => l.points >= 1 && l.durationS >= 1, { message: `${name}: N and S must both be at least 1` });

/** Never echoed in an error message: it would land in the logs. */
const SECRET_VARIABLES = new Set(['METRICS_TOKEN', 'DATABASE_URL', 'KEY_ENCRYPTION_KEY']);
// A new key must be in every cached copy of the JWKS before it signs anything: caches keep
// it up to JWKS_MAX_AGE_S, and other instances on the same database notice a new key within
// KEY_REFRESH_INTERVAL_S.
const MIN_KEY_ROTATION_DELAY_S = JWKS_MAX_AGE_S + KEY_REFRESH_INTERVAL_S;
const KEY_ROTATION_DELAY_MESSAGE =
  `KEY_ROTATION_DELAY_S must be a whole number of seconds from ${MIN_KEY_ROTATION_DELAY_S} to 2592000: a new key must reach ` +
  `every cached JWKS (max-age ${JWKS_MAX_AGE_S} s, plus ${KEY_REFRESH_INTERVAL_S} s for other instances to see it) before it signs`;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  NODE_ENV: z.string().optional(),
  HOST: z.string().trim().min(1, { message: 'HOST must not be empty' }).default('127.0.0.1'),
  PORT: int('PORT', 0, 65535).default(3000),
  PUBLIC_URL: z
    .url({ message: 'PUBLIC_URL must be an absolute http(s) URL', protocol: /^https?$/ })
    .optional(),
  DATABASE_URL: z.string().trim().optional(),
  DATABASE_TIMEOUT_MS: int('DATABASE_TIMEOUT_MS', 0, 600_000).default(10_000),
  DATA_DIR: z.string().trim().min(1, { message: 'DATA_DIR must not be empty' }).default('./data'),
  SEED_DEMO: bool('SEED_DEMO').optional(),
  CORS_ORIGINS: z.string().default(''),
  COOKIE_SECURE: bool('COOKIE_SECURE').default(true),
  COOKIE_SAMESITE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['lax', 'strict', 'none'], { message: 'COOKIE_SAMESITE must be Lax, Strict or None' }))
    .default('lax'),
  RATE_LIMITS: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['on', 'off'], { message: 'RATE_LIMITS must be on or off' }))
    .default('on'),
  RATE_LIMIT_LOGIN_IP: rateLimit('RATE_LIMIT_LOGIN_IP').default({ points: 10, durationS: 60 }),
  RATE_LIMIT_LOGIN_ACCOUNT: rateLimit('RATE_LIMIT_LOGIN_ACCOUNT').default({ points: 5, durationS: 60 }),
  // Unset: ten times RATE_LIMIT_LOGIN_ACCOUNT (see loadConfig).
  RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: rateLimit('RATE_LIMIT_LOGIN_ACCOUNT_TOTAL').optional(),
  RATE_LIMIT_REFRESH_IP: rateLimit('RATE_LIMIT_REFRESH_IP').default({ points: 60, durationS: 60 }),
  RATE_LIMIT_REFRESH_ACCOUNT: rateLimit('RATE_LIMIT_REFRESH_ACCOUNT').default({ points: 30, durationS: 60 }),
  REFRESH_REUSE_GRACE_S: int('REFRESH_REUSE_GRACE_S', 0, 300).default(5),
  ACCESS_TOKEN_TTL_S: int('ACCESS_TOKEN_TTL_S', 60, 2_592_000).default(3600),
  REFRESH_TOKEN_TTL_S: int('REFRESH_TOKEN_TTL_S', 60, 31_536_000).default(2_592_000),
  SESSION_MAX_AGE_S: int('SESSION_MAX_AGE_S', 60, 31_536_000).default(2_592_000),
  CLOCK_TOLERANCE_S: int('CLOCK_TOLERANCE_S', 0, 300).default(30),
  KEY_ROTATION_DELAY_S: z
    .string()
    .trim()
    .regex(/^\d+$/, { message: KEY_ROTATION_DELAY_MESSAGE })
    .transform(Number)
    .refine((n) => n >= MIN_KEY_ROTATION_DELAY_S && n <= 2_592_000, { message: KEY_ROTATION_DELAY_MESSAGE })
    .default(600),
  KEY_ENCRYPTION_KEY: z
    .string()
    .trim()
    .refine((s) => /^[A-Za-z0-9_-]{43}$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s, {
      message: `KEY_ENCRYPTION_KEY must be 32 random bytes in base64url (43 characters), e.g. from: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
    })
    .optional(),
  COCART_ACCESS_TOKEN_TTL_S: int('COCART_ACCESS_TOKEN_TTL_S', 60, 31_536_000).default(864_000),
  COCART_BIND_IP: bool('COCART_BIND_IP').default(false),
  MAHO_AUDIENCE: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{1,128}$/, { message: 'MAHO_AUDIENCE must be 1 to 128 visible ASCII characters' })
    .default('maho-api'),
  MAHO_ACCESS_TOKEN_TTL_S: int('MAHO_ACCESS_TOKEN_TTL_S', 60, 2_592_000).default(3600),
  OAUTH_AUDIENCE: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{1,128}$/, { message: 'OAUTH_AUDIENCE must be 1 to 128 visible ASCII characters' })
    .default('gatehouse:oauth'),
  LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(logLevels, { message: `LOG_LEVEL must be one of ${logLevels.join(', ')}` }))
    .optional(),
  VALIDATE_RESPONSES: bool('VALIDATE_RESPONSES').optional(),
  BODY_LIMIT_BYTES: int('BODY_LIMIT_BYTES', 1024, 10_485_760).default(32_768),
  SHUTDOWN_DELAY_MS: int('SHUTDOWN_DELAY_MS', 0, 60_000).default(1000),
  HEADERS_TIMEOUT_MS: int('HEADERS_TIMEOUT_MS', 100, 300_000).default(10_000),
  REQUEST_TIMEOUT_MS: int('REQUEST_TIMEOUT_MS', 100, 600_000).default(30_000),
  TRUST_PROXY: z
    .string()
    .trim()
    .refine(isTrustProxy, {
      message:
        'TRUST_PROXY must be a hop count, or addresses and ranges separated by commas (e.g. 10.0.0.0/8, fd00::/8, loopback); a range of /0 is not accepted',
    })
    .optional(),
  METRICS_TOKEN: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{16,256}$/, { message: 'METRICS_TOKEN must be 16 to 256 visible ASCII characters' })
    .optional(),
});

function parseDatabase(url: string | undefined, dataDir: string, timeoutMs: number): DatabaseTarget {
  if (url === undefined || url === '') return { kind: 'pglite', dataDir };
  if (url === 'memory://') return { kind: 'pglite-memory' };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url, timeoutMs };
  throw new ConfigError(
    'DATABASE_URL must be unset (embedded database in DATA_DIR), memory:// (in-memory embedded database) or postgres://user:pass@host:port/db',
  );
}

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * What Express's `trust proxy` takes, checked here so that a bad value is a configuration error
 * naming the variable rather than a failure to start: true or false, a hop count, or names,
 * addresses and CIDR ranges separated by commas (an IPv4 range may be a netmask). Express
 * (proxy-addr) compiles it in the end; node:net first refuses what that would misread, such as
 * 010.0.0.1, which it takes for 8.0.0.1.
 */
function isTrustProxy(value: string): boolean {
  if (value === 'true' || value === 'false' || /^\d+$/.test(value)) return true;
  const entriesAreAddresses = value.split(',').every((item) => {
    const entry = item.trim();
    if (TRUST_PROXY_NAMES.has(entry)) return true;
    const slash = entry.lastIndexOf('/');
    const kind = isIP(slash < 0 ? entry : entry.slice(0, slash));
    if (kind === 0) return false;
    if (slash < 0) return true;
    const range = entry.slice(slash + 1);
    return /^\d{1,3}$/.test(range) || (kind === 4 && isIP(range) === 4);
  });
  if (!entriesAreAddresses) return false;
  try {
    express().set('trust proxy', value);
    return true;
  } catch {
    return false; // a range out of bounds or of a non-contiguous netmask, an address it cannot parse
  }
}

function parseTrustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v; // a list of addresses/subnets, as Express accepts it
}

/** http://host:port, an IPv6 address in brackets: the public URL when PUBLIC_URL is unset. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Reads the configuration from `env`; throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as they do in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '');
      const got = SECRET_VARIABLES.has(name) ? 'value not shown' : `got ${JSON.stringify(cleaned[name])}`;
      return `  ${name}: ${i.message} (${got})`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const database = parseDatabase(e.DATABASE_URL, e.DATA_DIR, e.DATABASE_TIMEOUT_MS);
  const corsOrigins = e.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        `Invalid configuration:\n  CORS_ORIGINS: each origin must be scheme://host[:port] with no path, and * is not allowed with credentials (got ${JSON.stringify(origin)})`,
      );
    }
  }
  // Each dialect's tokens carry their own audience, and introspection tells dialects apart by
  // it: the configurable ones must differ, and `gatehouse:*` names the built-in dialects.
  if (e.MAHO_AUDIENCE === e.OAUTH_AUDIENCE || e.MAHO_AUDIENCE.startsWith('gatehouse:') || (e.OAUTH_AUDIENCE.startsWith('gatehouse:') && e.OAUTH_AUDIENCE !== 'gatehouse:oauth')) {
    throw new ConfigError(
      'Invalid configuration:\n  MAHO_AUDIENCE and OAUTH_AUDIENCE must differ from each other and from the built-in audiences (gatehouse:*; OAUTH_AUDIENCE may be gatehouse:oauth, its default)',
    );
  }
  if (e.COOKIE_SAMESITE === 'none' && !e.COOKIE_SECURE) {
    throw new ConfigError('Invalid configuration:\n  COOKIE_SAMESITE=None requires COOKIE_SECURE=true (browsers drop such cookies)');
  }
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    throw new ConfigError('Invalid configuration:\n  HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }
  // The total over all networks: by default ten networks' worth of the per-network limit, so
  // that fewer networks cannot lock an owner out, and a stricter per-network limit keeps a
  // total as strict in proportion. One network must never be able to fill it on its own.
  const perNetwork = e.RATE_LIMIT_LOGIN_ACCOUNT;
  const loginPerAccountTotal = e.RATE_LIMIT_LOGIN_ACCOUNT_TOTAL ?? { points: perNetwork.points * 10, durationS: perNetwork.durationS };
  if (loginPerAccountTotal.points <= perNetwork.points || loginPerAccountTotal.points * perNetwork.durationS <= perNetwork.points * loginPerAccountTotal.durationS) {
    throw new ConfigError(
      'Invalid configuration:\n  RATE_LIMIT_LOGIN_ACCOUNT_TOTAL must allow more attempts, and at a higher rate, than RATE_LIMIT_LOGIN_ACCOUNT: otherwise one network could fill it and lock the account out everywhere',
    );
  }
  const publicUrl = (e.PUBLIC_URL ?? httpUrl(e.HOST, e.PORT)).replace(/\/+$/, '');
  return {
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    publicUrlFromEnv: e.PUBLIC_URL !== undefined,
    database,
    seedDemo: e.SEED_DEMO ?? database.kind !== 'postgres',
    corsOrigins,
    cookieSecure: e.COOKIE_SECURE,
    cookieSameSite: e.COOKIE_SAMESITE,
    rateLimits: {
      enabled: e.RATE_LIMITS === 'on',
      loginPerIp: e.RATE_LIMIT_LOGIN_IP,
      loginPerAccount: e.RATE_LIMIT_LOGIN_ACCOUNT,
      loginPerAccountTotal,
      refreshPerIp: e.RATE_LIMIT_REFRESH_IP,
      refreshPerAccount: e.RATE_LIMIT_REFRESH_ACCOUNT,
    },
    refreshReuseGraceS: e.REFRESH_REUSE_GRACE_S,
    accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
    refreshTokenTtlS: e.REFRESH_TOKEN_TTL_S,
    sessionMaxAgeS: e.SESSION_MAX_AGE_S,
    clockToleranceS: e.CLOCK_TOLERANCE_S,
    keyRotationDelayS: e.KEY_ROTATION_DELAY_S,
    keyEncryptionKey: e.KEY_ENCRYPTION_KEY === undefined ? undefined : new Uint8Array(Buffer.from(e.KEY_ENCRYPTION_KEY, 'base64url')),
    maxAccessTokenTtlS: Math.max(
      e.ACCESS_TOKEN_TTL_S,
      e.COCART_ACCESS_TOKEN_TTL_S,
      e.MAHO_ACCESS_TOKEN_TTL_S,
      MAX_EXPIRES_IN_MINS * 60, // DummyJSON: the client chooses, up to this cap
    ),
    cocart: { accessTokenTtlS: e.COCART_ACCESS_TOKEN_TTL_S, bindIp: e.COCART_BIND_IP },
    maho: { audience: e.MAHO_AUDIENCE, accessTokenTtlS: e.MAHO_ACCESS_TOKEN_TTL_S },
    oauth: { audience: e.OAUTH_AUDIENCE, accessTokenTtlS: e.ACCESS_TOKEN_TTL_S },
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    validateResponses: e.VALIDATE_RESPONSES ?? !production,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    metricsToken: e.METRICS_TOKEN,
    production,
  };
}
