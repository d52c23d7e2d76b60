import type { Client } from '../../generated/client/client/index.js';
import { mahoToken } from '../../generated/client/sdk.gen.js';
import type { MahoTokenRequest, MahoTokenResponse } from '../../generated/client/types.gen.js';

export async function mahoTokenFor(client: Client, body: MahoTokenRequest): Promise<MahoTokenResponse> {
  const { data, response } = await mahoToken({ client, body });
  if (!data) throw new Error(`Maho token request failed with ${response.status}`);
  return data;
}

/** A customer token of a demo user, by email. */
export const customerToken = async (client: Client, username = 'emilys') => {
  const emails: Record<string, string> = {
    emilys: 'emily.johnson@x.dummyjson.com',
    michaelw: 'michael.williams@x.dummyjson.com',
    emmaj: 'emma.miller@x.dummyjson.com',
    jamesd: 'james.davis@x.dummyjson.com',
  };
  return (await mahoTokenFor(client, { email: emails[username] ?? username, password: `${username}pass` })).token;
};

export const demoClientToken = async (client: Client) =>
  (await mahoTokenFor(client, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' })).token;

export const demoApiUserToken = async (client: Client) =>
  (await mahoTokenFor(client, { grant_type: 'api_user', username: 'demo-api', api_key: 'demo-api-key' })).token;

export const mahoError = (code: number, error: string, message: string) => ({ error, message, code });
