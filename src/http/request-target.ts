// RFC 9112 §3.2.2: a server must accept a request target in absolute form
// (`POST http://auth.example/auth/login`), which clients send to proxies and some send to any
// server. Routing, the contract's validator, the metrics and the logs all read the origin form
// (`/auth/login?…`), so the target is rewritten to it before the app sees the request.
import type { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * Rewrites an absolute-form target to its path and query, and takes its authority as the Host
 * (the RFC: the target's host wins over the Host header). The path is kept as sent, not
 * normalised, so it is matched exactly as the same path in origin form would be.
 */
export function toOriginForm(req: IncomingMessage): void {
  const target = req.url ?? '';
  if (target.startsWith('/')) return;
  const match = ABSOLUTE_FORM.exec(target);
  const authority = match?.[1]?.replace(/^.*@/s, ''); // no userinfo in an http(s) URI's host
  if (!match || !authority) return; // anything else stays as sent, and is not found
  const rest = match[2]!;
  req.url = rest.startsWith('/') ? rest : `/${rest}`;
  req.headers.host = authority;
}
