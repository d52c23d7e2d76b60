import type { Request } from 'express';
import type { ClientInfo } from '../core/sessions.js';

/** The caller's address (as trusted via TRUST_PROXY) and User-Agent, for bindings and limits. */
export function clientInfo(req: Request): ClientInfo {
  return { ip: req.ip ?? req.socket.remoteAddress ?? null, userAgent: req.get('user-agent') ?? null };
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
