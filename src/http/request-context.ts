import type { Request } from 'express';
import type { ClientInfo } from '../core/sessions.js';

/**
 * How much of a User-Agent is kept: real ones are a few hundred characters. Headers may be up
 * to 128 KB, and the User-Agent is stored with each session and copied into CoCart's tokens
 * (`device`), so an uncapped one made tokens longer than verification accepts (8 KB).
 */
export const MAX_USER_AGENT_LENGTH = 1_024;

/** The caller's address (as trusted via TRUST_PROXY) and User-Agent (capped), for bindings, limits and the audit trail. */
export function clientInfo(req: Request): ClientInfo {
  return {
    ip: req.ip ?? req.socket.remoteAddress ?? null,
    userAgent: req.get('user-agent')?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
    requestId: req.res?.locals.requestId as string | undefined,
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return m?.[1];
}

export function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * A cookie's value, only if it is a plain string: cookie-parser decodes `j:`-prefixed cookies
 * as JSON, and a token is never JSON.
 */
export function cookie(req: Request, name: string): string | undefined {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** Where a NUL character is in the parsed body or query, if anywhere (PostgreSQL text cannot store it). */
export function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (depth > 32 || typeof value !== 'object' || value === null) return undefined;
  for (const [key, v] of Object.entries(value)) {
    const found = findNul(v, `${path}/${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
