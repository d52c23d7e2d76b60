// The composition root: opens the database, applies migrations, and wires the store and
// core together. No global state: tests create as many independent instances as they like.
import type { Config } from './config.js';
import { Accounts } from './core/accounts.js';
import { noAuditTrail, type AuditTrail } from './core/audit.js';
import { AccessTokens } from './core/access-tokens.js';
import { systemClock, type Clock } from './core/clock.js';
import { seedDemoServicePrincipals, seedDemoUsers } from './core/demo-users.js';
import type { AuthEvents } from './core/events.js';
import { KeyEncryption } from './core/key-encryption.js';
import { KeyRing } from './core/keys.js';
import { PasswordHasher } from './core/passwords.js';
import { PasswordLogin } from './core/password-login.js';
import { RateLimits } from './core/rate-limits.js';
import { ServicePrincipals } from './core/service-principals.js';
import { Sessions } from './core/sessions.js';
import { Metrics } from './http/metrics.js';
import { openDatabase, type Database } from './store/database.js';
import { migrate } from './store/migrate.js';
import { SharedRateLimitStore } from './store/rate-limits.js';
import { ServicePrincipalRows } from './store/service-principals.js';
import { SessionStore } from './store/sessions.js';
import { UserStore } from './store/users.js';

export interface Services {
  config: Config;
  clock: Clock;
  db: Database;
  users: UserStore;
  passwords: PasswordHasher;
  passwordLogin: PasswordLogin;
  sessions: Sessions;
  tokens: AccessTokens;
  keys: KeyRing;
  limits: RateLimits;
  /** PostgreSQL server only, rate limits on: the counters every instance shares. */
  sharedLimits: SharedRateLimitStore | undefined;
  /** This instance's Prometheus registry; core reports to it through `events`. */
  metrics: Metrics;
  events: AuthEvents;
  accounts: Accounts;
  servicePrincipals: ServicePrincipals;
  /** Where security events go (README, "Audit trail"). */
  audit: AuditTrail;
  /** True when this start seeded the demo users into an empty database. */
  seeded: boolean;
  close(): Promise<void>;
}

/** `audit`: where security events go (the server's log); none by default (the command line). */
export async function createServices(config: Config, opts: { clock?: Clock; audit?: AuditTrail } = {}): Promise<Services> {
  const clock = opts.clock ?? systemClock;
  const audit = opts.audit ?? noAuditTrail;
  const db = await openDatabase(config.database);
  let sharedLimits: SharedRateLimitStore | undefined;
  try {
    await migrate(db);
    const users = new UserStore(db);
    const passwords = await PasswordHasher.create();
    const seeded = config.seedDemo ? await seedDemoUsers(users, passwords, clock) : false;
    const keys = await KeyRing.open(
      db,
      clock,
      { rotationDelayS: config.keyRotationDelayS, verifyAfterLastSignatureS: config.maxAccessTokenTtlS + config.clockToleranceS },
      config.keyEncryptionKey ? KeyEncryption.withKey(config.keyEncryptionKey) : KeyEncryption.none(),
    );
    const metrics = new Metrics();
    const events: AuthEvents = metrics;
    // On a PostgreSQL server every instance must count against the same limits; the embedded
    // database has one process, whose memory is the one place to count.
    sharedLimits =
      config.database.kind === 'postgres' && config.rateLimits.enabled
        ? SharedRateLimitStore.open(config.database.url, { onFallback: (bucket) => metrics.rateLimitFallback(bucket) })
        : undefined;
    const limits = new RateLimits(config.rateLimits, { limiters: sharedLimits?.limiters, events });
    const tokens = new AccessTokens(keys, { issuer: config.publicUrl, clockToleranceS: config.clockToleranceS, clock });
    const sessionSettings = {
      refreshTokenTtlS: config.refreshTokenTtlS,
      sessionMaxAgeS: config.sessionMaxAgeS,
      refreshReuseGraceS: config.refreshReuseGraceS,
    };
    const sessions = new Sessions(db, new SessionStore(db, { onBatchRetried: (write) => metrics.batchRetried(write) }), tokens, limits, clock, sessionSettings, events, audit);
    const servicePrincipals = new ServicePrincipals(new ServicePrincipalRows(db), limits, clock, sessions, audit);
    if (seeded) await seedDemoServicePrincipals(servicePrincipals);
    return {
      accounts: new Accounts(users, passwords, sessions, limits, clock, audit),
      servicePrincipals,
      config,
      clock,
      db,
      users,
      passwords,
      passwordLogin: new PasswordLogin(users, passwords, limits, clock, audit),
      sessions,
      tokens,
      keys,
      limits,
      sharedLimits,
      metrics,
      events,
      audit,
      seeded,
      close: async () => {
        await sharedLimits?.close();
        await db.close();
      },
    };
  } catch (err) {
    await sharedLimits?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}
