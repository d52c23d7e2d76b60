// Access tokens: ES256 JWTs (RFC 9068 profile, `typ: at+jwt`). Verification pins the
// algorithm, issuer, audience and type, and allows a small clock leeway (RFC 8725 3.1-3.11).
// Each dialect has its own audience, so a token of one dialect never passes another.
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError } from './errors.js';
import { SIGNING_ALG, type KeyRing } from './keys.js';
import { newId } from './secrets.js';
import { subjectOf, type OpenedSession, type SessionPolicy } from './sessions.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Longer tokens are refused before any parsing: ours are under 1 KB. */
export const MAX_TOKEN_LENGTH = 8_192;

/**
 * The only spelling of a compact ES256 JWS: three base64url segments without padding, the
 * signature's 64 bytes as 86 characters whose last carries no stray bits (one of A, Q, g, w).
 * jose decodes a signature leniently (spare bits ignored, and with Node's atob, whitespace
 * skipped), so without this one genuine token would verify under many spellings, each a new
 * entry of VerifiedTokens: one token could fill the cache and push everyone else out. (ECDSA
 * itself allows a second signature, s and n - s: one more entry per token at most.)
 */
const CANONICAL_ES256_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{85}[AQgw]$/;

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  /** The session the token belongs to. */
  sid: string;
  /** The session's access generation when the token was minted (see sessions.access_generation). */
  gen: number;
  jti: string;
  iat: number;
  exp: number;
}

export interface SignInput {
  audience: string;
  subject: string;
  sessionId: string;
  generation: number;
  ttlS: number;
  /** The dialect's own claim layout; never secrets. Standard claims override same-named keys. */
  claims?: Record<string, unknown>;
}

/**
 * Tokens whose signature and claims were already verified, so that a client presenting the
 * same token again skips the P-256 verification (about 120 µs of CPU, more than a whole bare
 * Express request here). An entry is used only between its `nbf` and `exp` (with the leeway),
 * for the same audience, and while its signing key is still in the ring; the session is
 * still checked in the store on every request, so revocation is unaffected. Bounded: the
 * oldest entries are dropped first.
 */
class VerifiedTokens {
  readonly #entries = new Map<string, { claims: AccessTokenClaims; kid: string }>();
  constructor(private readonly maxEntries: number) {}

  get(token: string): { claims: AccessTokenClaims; kid: string } | undefined {
    return this.#entries.get(token);
  }

  set(token: string, entry: { claims: AccessTokenClaims; kid: string }): void {
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(token, entry);
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }
}

export class AccessTokens {
  readonly #verified = new VerifiedTokens(20_000);

  constructor(
    private readonly keys: KeyRing,
    private readonly opts: { issuer: string; clockToleranceS: number; clock: Clock },
  ) {}

  async sign(input: SignInput): Promise<{ token: string; expiresAt: number; claims: AccessTokenClaims }> {
    const iat = Math.floor(this.opts.clock.now() / 1000);
    const exp = iat + Math.max(1, Math.round(input.ttlS));
    const claims: AccessTokenClaims = {
      ...input.claims,
      iss: this.opts.issuer,
      aud: input.audience,
      sub: input.subject,
      sid: input.sessionId,
      gen: input.generation,
      jti: newId(),
      iat,
      nbf: iat,
      exp,
    };
    const { kid, key } = this.keys.signingKey();
    const token = await new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TOKEN_TYPE }).sign(key);
    return { token, expiresAt: exp * 1000, claims };
  }

  /** Signs an access token for a session just opened, rotated or re-issued by Sessions. */
  signForSession(session: OpenedSession, policy: SessionPolicy, ttlS: number, claims: Record<string, unknown>) {
    return this.sign({
      audience: policy.audience,
      subject: subjectOf(policy, session.principal),
      sessionId: session.sessionId,
      generation: session.accessGeneration,
      ttlS,
      claims,
    });
  }

  /** Verifies signature and claims; throws GatehouseError TokenInvalid or TokenExpired. */
  verify(token: string, audience: string): Promise<AccessTokenClaims> {
    return this.#verify(token, audience);
  }

  /**
   * verify() for token introspection and revocation, which serve tokens of every dialect:
   * every check but the audience, which the caller must match against the token's session.
   */
  verifyAnyAudience(token: string): Promise<AccessTokenClaims & { aud: string }> {
    return this.#verify(token, null) as Promise<AccessTokenClaims & { aud: string }>;
  }

  async #verify(token: string, audience: string | null): Promise<AccessTokenClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw new GatehouseError(ErrorCode.TokenInvalid, 'token too long');
    if (!CANONICAL_ES256_JWS.test(token)) throw new GatehouseError(ErrorCode.TokenInvalid, 'not a compact ES256 JWS');
    const known = this.#verified.get(token);
    if (known) {
      // The same comparisons as jose's, in whole seconds, so the cache never accepts a token
      // the full check would refuse.
      const nowS = Math.floor(this.opts.clock.now() / 1000);
      const leeway = this.opts.clockToleranceS;
      if (
        (audience === null || known.claims.aud === audience) &&
        known.claims.exp > nowS - leeway &&
        (known.claims.nbf ?? 0) <= nowS + leeway &&
        this.keys.canVerify(known.kid)
      ) {
        return known.claims;
      }
      this.#verified.delete(token); // fall through: the full check gives the precise error
    }
    let kid = '';
    try {
      const { payload } = await jwtVerify<AccessTokenClaims>(
        token,
        async (header) => {
          const key = header.kid === undefined ? undefined : await this.keys.verificationKey(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          kid = header.kid!;
          return key;
        },
        {
          algorithms: [SIGNING_ALG],
          issuer: this.opts.issuer,
          ...(audience === null ? {} : { audience }),
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance: this.opts.clockToleranceS,
          currentDate: new Date(this.opts.clock.now()),
          requiredClaims: ['aud', 'sub', 'sid', 'gen', 'jti', 'iat', 'exp'],
        },
      );
      if (
        typeof payload.sid !== 'string' ||
        !Number.isInteger(payload.gen) ||
        typeof payload.sub !== 'string' ||
        typeof payload.aud !== 'string'
      ) {
        throw new GatehouseError(ErrorCode.TokenInvalid, 'claims of the wrong type');
      }
      // jose checks `iat` only against a maximum age; a token "issued" in the future is not
      // one this server signed honestly (RFC 8725 section 3.10 asks for every time claim).
      if (payload.iat > Math.floor(this.opts.clock.now() / 1000) + this.opts.clockToleranceS) {
        throw new GatehouseError(ErrorCode.TokenInvalid, 'iat in the future');
      }
      this.#verified.set(token, { claims: payload, kid });
      return payload;
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      // jose checks the signature before any claim, so "expired" is only said of a genuine token.
      if (err instanceof errors.JWTExpired) throw new GatehouseError(ErrorCode.TokenExpired, 'token expired');
      throw new GatehouseError(ErrorCode.TokenInvalid, err instanceof Error ? err.message : 'invalid token');
    }
  }
}
