// RFC 9112 §3.2.2: a server must accept a request target in absolute form
// (`POST http://auth.example/auth/login`), which clients send to proxies and some send to any
// server. Routing, the contract's validator, the metrics and the logs all read the origin form
// (`/auth/login?…`), so the target is rewritten to it before the app sees the request.
import type { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^https?:\/\/([^/?#@]+)([/?].*)?$/is;

/**
 * Rewrites an absolute-form target to its path and query, and takes its authority as the Host
 * (the RFC: the target's host wins over the Host header). The path is kept as sent, not
 * normalised, so it is matched exactly as the same path in origin form would be.
 * False for a target that is neither (another scheme, no host, userinfo, which RFC 9110 §4.2.4
 * says to treat as an error since it serves to disguise the host): parts of Express would read
 * a path out of it that the validator does not, so it is better refused than passed on.
 */
export function toOriginForm(req: IncomingMessage): boolean {
  const target = req.url ?? '';
  if (target.startsWith('/') || target === '*') return true;
  const match = ABSOLUTE_FORM.exec(target);
  if (!match) return false;
  const rest = match[2] ?? '';
  req.url = rest.startsWith('/') ? rest : `/${rest}`;
  req.headers.host = match[1]!;
  return true;
}
