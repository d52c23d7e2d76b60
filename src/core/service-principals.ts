// API clients and API users: the principals of Maho's client_credentials and api_user grants
// (and of OAuth 2 client authentication). Secrets are 256 random bits, shown once, stored as
// SHA-256 and compared in constant time; an unknown name costs the same comparison, so the
// answer does not reveal which names exist.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../store/database.js';
import { AdminError, AdminErrorCode } from './admin-errors.js';
import { byNameOrId, isStoredId } from './admin-references.js';
import { noAuditTrail, type AuditTrail, type ClientAuthenticationFailure } from './audit.js';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError, RateLimitedError } from './errors.js';
import { isPermission } from './permissions.js';
import { accountFromNetwork, type RateLimits } from './rate-limits.js';
import { sha256Hex } from './secrets.js';
import type { ClientInfo } from './sessions.js';

export type ServiceKind = 'api_client' | 'api_user';

/** The OAuth 2 grants an API client may be allowed to use at /oauth/token. */
export const OAUTH_GRANT_TYPES = ['client_credentials', 'password', 'refresh_token'] as const;
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number];

export function isOAuthGrantType(v: string): v is OAuthGrantType {
  return (OAUTH_GRANT_TYPES as readonly string[]).includes(v);
}

export interface ServicePrincipal {
  id: number;
  kind: ServiceKind;
  /** client_id of an API client, username of an API user. */
  name: string;
  permissions: string[];
  /** The OAuth grants this principal may use; always empty for an API user. */
  grantTypes: OAuthGrantType[];
  active: boolean;
}

export interface ServicePrincipalStore {
  update(id: number, changes: { active?: boolean; permissions?: string[] }, at: Date, db?: Queryable): Promise<boolean>;
  /** Runs `change` in one transaction that holds the principal's row FOR UPDATE. */
  changeActive<T>(id: number, change: (tx: Queryable) => Promise<T>): Promise<T>;
  findByName(kind: ServiceKind, name: string): Promise<(ServicePrincipal & { secretHash: string }) | undefined>;
  insert(
    p: { kind: ServiceKind; name: string; secretHash: string; permissions: string[]; grantTypes: OAuthGrantType[] },
    at: Date,
  ): Promise<ServicePrincipal>;
  list(kind: ServiceKind): Promise<ServicePrincipal[]>;
  findById(id: number): Promise<ServicePrincipal | undefined>;
  delete(id: number): Promise<boolean>;
}

/** A client_id: recognisable prefix and 128 random bits. */
export function newClientId(): string {
  return `ghc_${randomBytes(16).toString('hex')}`;
}

/** A client secret or API key: 256 random bits as 64 hex characters. */
export function newServiceSecret(): string {
  return randomBytes(32).toString('hex');
}

const DECOY_HASH = sha256Hex(randomBytes(32).toString('hex'));

export class ServicePrincipals {
  constructor(
    private readonly store: ServicePrincipalStore,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
    private readonly sessions: { serviceChanged(id: number): void; revokeAllForService(id: number, tx?: Queryable): Promise<number> },
    private readonly audit: AuditTrail = noAuditTrail,
  ) {}

  /**
   * Activates or deactivates a principal. Deactivation revokes its tokens, so they stay dead if
   * it is activated again.
   */
  async setActive(id: number, active: boolean): Promise<boolean> {
    // One transaction, as for users: no token request racing the deactivation keeps a session
    // that would come back to life on reactivation (ServicePrincipalRows.changeActive).
    const done = await this.store.changeActive(id, async (tx) => {
      const changed = await this.store.update(id, { active }, new Date(this.clock.now()), tx);
      if (changed && !active) await this.sessions.revokeAllForService(id, tx);
      return changed;
    });
    this.sessions.serviceChanged(id);
    return done;
  }

  /** Replaces a principal's permissions; they apply from the next request on. */
  async setPermissions(id: number, permissions: string[]): Promise<boolean> {
    const bad = permissions.filter((p) => !isPermission(p));
    if (bad.length > 0) throw new AdminError(AdminErrorCode.InvalidInput, `not a permission: ${bad.join(', ')}`);
    const done = await this.store.update(id, { permissions: [...new Set(permissions)] }, new Date(this.clock.now()));
    this.sessions.serviceChanged(id);
    return done;
  }

  /**
   * Returns the active principal whose name and secret match, or throws InvalidClient or
   * RateLimitedError (per IP, and failed attempts per principal name, as for passwords).
   * `refundIp`: a success gives its per-IP attempt back, so only failures count there (for
   * calls a resource server makes on every request of its own, like introspection).
   */
  async authenticate(
    kind: ServiceKind,
    name: string,
    secret: string,
    client: ClientInfo,
    opts: { refundIp?: boolean } = {},
  ): Promise<ServicePrincipal> {
    const ip = client.ip ?? 'unknown';
    // Failed attempts per principal *and address*: a client_id is no secret (it is in every
    // token of its client), so a lockout per name alone would let anyone lock any client
    // out. Secrets are 256 random bits, so guessing needs no tighter limit than this. An
    // address counts as its network (an IPv6 client picks any address of its /64).
    const account = accountFromNetwork(`${kind}:${name.toLowerCase()}`, ip);
    // Both counts before any work; the address's alone first, so that an address past its
    // limit creates no counter per name it sends (each would be kept, in memory or in the
    // shared table, until its window ends: a way to fill them at the request rate).
    const refused = (reason: ClientAuthenticationFailure, principalId?: number) =>
      this.audit.record({ event: 'client_authentication_failed', kind, reason, principalId }, client);
    try {
      await this.limits.consume('login:ip', ip);
      await this.limits.consume('login:account', account);
    } catch (err) {
      if (err instanceof RateLimitedError && err.firstInWindow) refused('rate_limited'); // once per window, as a login's
      throw err;
    }
    const found = name.includes('\0') ? undefined : await this.store.findByName(kind, name);
    const expected = Buffer.from(found?.secretHash ?? DECOY_HASH, 'hex');
    const given = Buffer.from(sha256Hex(secret), 'hex');
    const match = timingSafeEqual(expected, given);
    if (!found || !match || !found.active) {
      refused(!found ? 'unknown_client' : !match ? 'wrong_secret' : 'inactive', found?.id);
      throw new GatehouseError(ErrorCode.InvalidClient);
    }
    // Not awaited: see RateLimits.refund.
    void this.limits.refund('login:account', account);
    if (opts.refundIp) void this.limits.refund('login:ip', ip);
    const { secretHash: _secret, ...principal } = found;
    return principal;
  }

  /**
   * Creates a principal; the secret is returned here once and never stored in the clear.
   * Throws AdminError for a bad name or permission, or a name already taken.
   */
  async create(
    kind: ServiceKind,
    opts: { name?: string; secret?: string; permissions: string[]; grantTypes?: OAuthGrantType[] },
  ): Promise<{ principal: ServicePrincipal; secret: string }> {
    const bad = opts.permissions.filter((p) => !isPermission(p));
    if (bad.length > 0) {
      throw new AdminError(AdminErrorCode.InvalidInput, `not a permission: ${bad.join(', ')} (use <resource>/<read|create|write|delete|all> or all)`);
    }
    const name = opts.name ?? (kind === 'api_client' ? newClientId() : undefined);
    if (!name || !/^[\x21-\x7e]{1,128}$/.test(name)) {
      throw new AdminError(AdminErrorCode.InvalidInput, `${kind === 'api_user' ? 'an API user username' : 'a client_id'} is 1 to 128 visible ASCII characters`);
    }
    const grantTypes = kind === 'api_client' ? [...new Set(opts.grantTypes ?? ['client_credentials' as const])] : [];
    if (kind === 'api_user' && opts.grantTypes?.length) throw new AdminError(AdminErrorCode.InvalidInput, 'only an API client can use OAuth grants');
    const secret = opts.secret ?? newServiceSecret();
    const principal = await this.store.insert(
      { kind, name, secretHash: sha256Hex(secret), permissions: [...new Set(opts.permissions)], grantTypes },
      new Date(this.clock.now()),
    );
    return { principal, secret };
  }

  // --- administration ---

  list(kind: ServiceKind): Promise<ServicePrincipal[]> {
    return this.store.list(kind);
  }

  get(id: number): Promise<ServicePrincipal | undefined> {
    return this.store.findById(id);
  }

  /**
   * A principal of `kind` by name (client_id or username) or by id; refused when those are two
   * principals (admin-references.ts).
   */
  async find(kind: ServiceKind, nameOrId: string): Promise<ServicePrincipal | undefined> {
    const found = nameOrId.includes('\0') ? undefined : await this.store.findByName(kind, nameOrId);
    const byName = found && (({ secretHash: _secret, ...principal }) => principal)(found);
    const other = isStoredId(nameOrId) ? await this.store.findById(Number(nameOrId)) : undefined;
    const byId = other?.kind === kind ? other : undefined;
    return byNameOrId(nameOrId, byName, byId, kind === 'api_client' ? 'API client' : 'API user', (p) => p.name);
  }

  /** Deletes a principal; its sessions go with it (ON DELETE CASCADE), so its tokens die at once. */
  async delete(id: number): Promise<boolean> {
    const deleted = await this.store.delete(id);
    this.sessions.serviceChanged(id);
    return deleted;
  }
}
