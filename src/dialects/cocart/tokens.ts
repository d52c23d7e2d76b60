// CoCart's access token layout: iss, iat, nbf, exp and data.user {id, username, ip, device, pat},
// plus the standard claims every Gatehouse token has. `pat` is the session id; `device` the
// User-Agent the token is bound to. Unlike the original, no secret is ever in the payload.
import type { ClientInfo, IssuedRefresh, SessionPolicy } from '../../core/sessions.js';
import type { Services } from '../../services.js';

export async function issueAccessToken(s: Services, policy: SessionPolicy, issued: IssuedRefresh, client: ClientInfo) {
  const u = issued.user;
  return s.tokens.signForSession(issued, policy, s.config.cocart.accessTokenTtlS, {
    data: {
      user: { id: u.id, username: u.username, ip: client.ip ?? '', device: client.userAgent ?? '', pat: issued.sessionId },
    },
  });
}
