import type { Client } from '../../generated/client/client/index.js';
import { oauthIntrospect, oauthRevoke, oauthToken } from '../../generated/client/sdk.gen.js';
import type { OAuthTokenRequest, OAuthTokenResponse } from '../../generated/client/types.gen.js';
import type { OAuthGrantType } from '../../src/core/service-principals.js';
import type { TestServer } from './gatehouse.js';

export const DEMO_CLIENT = { id: 'demo-client', secret: 'demo-client-secret' } as const;

/** `client_secret_basic` (RFC 6749 section 2.3.1): id and secret form-encoded, then base64. */
export function basic(id: string, secret: string): { Authorization: string } {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return { Authorization: `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}` };
}

/** A token from /oauth/token with the demo client (client_secret_basic); fails the test otherwise. */
export async function oauthTokenFor(
  client: Client,
  body: OAuthTokenRequest,
  credentials: { id: string; secret: string } = DEMO_CLIENT,
): Promise<OAuthTokenResponse> {
  const { data, response } = await oauthToken({ client, body, headers: basic(credentials.id, credentials.secret) });
  if (!data) throw new Error(`OAuth token request failed with ${response.status}`);
  return data;
}

/** A new API client with the given grants and permissions. */
export async function newOAuthClient(t: TestServer, grantTypes: OAuthGrantType[], permissions: string[] = ['customers/read']) {
  const { principal, secret } = await t.gatehouse.services.servicePrincipals.create('api_client', { permissions, grantTypes });
  return { id: principal.name, secret, principal };
}

export const introspect = (client: Client, token: string, credentials: { id: string; secret: string } = DEMO_CLIENT) =>
  oauthIntrospect({ client, body: { token }, headers: basic(credentials.id, credentials.secret) });

export const revoke = (client: Client, token: string, credentials: { id: string; secret: string } = DEMO_CLIENT) =>
  oauthRevoke({ client, body: { token }, headers: basic(credentials.id, credentials.secret) });
