import type { Client } from '../../generated/client/client/index.js';
import { dummyjsonLogin } from '../../generated/client/sdk.gen.js';
import type { DummyjsonLoginResponse } from '../../generated/client/types.gen.js';

/** Logs a demo user in and fails the test if that does not work. */
export async function loginAs(client: Client, username = 'emilys', extra: { expiresInMins?: number } = {}) {
  const { data, response } = await dummyjsonLogin({ client, body: { username, password: `${username}pass`, ...extra } });
  if (!data) throw new Error(`login of ${username} failed with ${response.status}`);
  return { ...(data as DummyjsonLoginResponse), response };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** emilys' public profile as the login answer carries it (the seed's user id 1). */
export const EMILYS = {
  id: 1,
  username: 'emilys',
  email: 'emily.johnson@x.dummyjson.com',
  firstName: 'Emily',
  lastName: 'Johnson',
  gender: 'female',
  image: 'https://dummyjson.com/icon/emilys/128',
} as const;
