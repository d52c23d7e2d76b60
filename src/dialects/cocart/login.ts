import type { Request, RequestHandler } from 'express';
import type { CocartCredentials, CocartLoginResponse } from '../../../generated/client/types.gen.js';
import { GatehouseError, ErrorCode } from '../../core/errors.js';
import type { User } from '../../core/users.js';
import { DialectError } from '../../http/http-errors.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { cocartPolicy } from './policy.js';
import { issueAccessToken } from './tokens.js';

const DEV_NOTE = "Don't forget to store the users login information in order to authenticate all other routes with CoCart.";

/**
 * Credentials from `Authorization: Basic`, else from the body. A Basic header that cannot be
 * decoded is a failed authentication, like a wrong password; any other scheme is ignored.
 */
function credentials(req: Request): { username: string; password: string } {
  const header = req.headers.authorization ?? '';
  const basic = /^basic(?:[ \t]+(.*))?$/i.exec(header);
  if (basic) {
    const encoded = (basic[1] ?? '').trim();
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (!/^[A-Za-z0-9+/]+=*$/.test(encoded) || colon < 1) throw new GatehouseError(ErrorCode.InvalidCredentials);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const body = (req.body ?? {}) as CocartCredentials;
  const missing = (['username', 'password'] as const).filter((k) => !body[k]);
  if (missing.length > 0) {
    throw new DialectError(400, `Missing parameter(s): ${missing.join(', ')}`, 'rest_missing_callback_param');
  }
  return { username: body.username!, password: body.password! };
}

/** WordPress-style role label: "Admin", "Moderator", "User". */
function roleLabel(u: User): string {
  return u.role.charAt(0).toUpperCase() + u.role.slice(1);
}

/** Avatar URLs by size; DummyJSON-style icon URLs ending in /<size> are resized. */
function avatarUrls(u: User): Record<string, string> {
  if (!u.image) return {};
  const sized = (size: number) => (/\/\d+$/.test(u.image) ? u.image.replace(/\/\d+$/, `/${size}`) : u.image);
  return { '24': sized(24), '48': sized(48), '96': sized(96) };
}

/** POST /wp-json/cocart/v2/login */
export function login(s: Services): RequestHandler {
  const policy = cocartPolicy(s.config);
  return async (req, res) => {
    const { username, password } = credentials(req);
    const client = clientInfo(req);
    const user = await s.passwordLogin.check(username, password, client, { email: true, phone: true });
    const issued = await s.sessions.start(user, policy, client);
    const access = await issueAccessToken(s, policy, issued, client);
    const answer: CocartLoginResponse = {
      user_id: String(user.id),
      first_name: user.firstName,
      last_name: user.lastName,
      display_name: user.username,
      role: roleLabel(user),
      avatar_urls: avatarUrls(user),
      email: user.email,
      extras: { jwt_token: access.token, jwt_refresh: issued.refreshToken },
      dev_note: DEV_NOTE,
    };
    res.json(answer);
  };
}
