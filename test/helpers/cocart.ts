import type { Client } from '../../generated/client/client/index.js';
import { cocartLogin } from '../../generated/client/sdk.gen.js';
import type { CocartLoginResponse } from '../../generated/client/types.gen.js';

export const UA = 'GatehouseTest/1.0 (CoCart app)';

/** Logs a demo user in through CoCart with a fixed User-Agent; fails the test otherwise. */
export async function cocartLoginAs(client: Client, username = 'emilys', headers: Record<string, string> = {}) {
  const { data, response } = await cocartLogin({
    client,
    body: { username, password: `${username}pass` },
    headers: { 'User-Agent': UA, ...headers },
  });
  if (!data) throw new Error(`CoCart login of ${username} failed with ${response.status}`);
  return data as CocartLoginResponse;
}

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export const cocartError = (status: number, code: string, message: string) => ({ code, message, data: { status } });
