// gatehouse clients … / api-users …: a created API client gets a Maho client_credentials token
// and an API user an api_user token, with the permissions given; the secret is printed once
// and never again; permission changes, deactivation and deletion show on the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mahoListCustomers, mahoToken } from '../../generated/client/sdk.gen.js';
import type { Client } from '../../generated/client/client/index.js';
import { bearer } from '../helpers/dummyjson.js';
import { cliDatabase, gatehouse, json, withServer } from './cli.js';

let db: Awaited<ReturnType<typeof cliDatabase>>;
beforeAll(async () => {
  db = await cliDatabase();
});
afterAll(() => db.drop());

const cli = (args: string[]) => gatehouse(args, db.env);

interface CreatedClient {
  id: number;
  clientId: string;
  clientSecret: string;
  permissions: string[];
  grantTypes: string[];
  active: boolean;
}

const clientToken = (client: Client, clientId: string, secret: string) =>
  mahoToken({ client, body: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret } });
const apiUserToken = (client: Client, username: string, apiKey: string) =>
  mahoToken({ client, body: { grant_type: 'api_user', username, api_key: apiKey } });
const listStatus = async (client: Client, token: string) =>
  (await mahoListCustomers({ client, headers: bearer(token) })).response.status;

describe('gatehouse clients and api-users', () => {
  it('create principals whose one-time secret works on the server; changes apply there', async () => {
    const created = await cli(['clients', 'create', '--permission', 'customers/read', '--grant', 'client_credentials', '--grant', 'password', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const client = json<CreatedClient>(created);
    expect(Object.keys(client).sort()).toEqual(['active', 'clientId', 'clientSecret', 'grantTypes', 'id', 'permissions']);
    expect(client).toMatchObject({ permissions: ['customers/read'], grantTypes: ['client_credentials', 'password'], active: true });
    expect(client.clientId).toMatch(/^ghc_[0-9a-f]{32}$/);
    expect(client.clientSecret).toMatch(/^[0-9a-f]{64}$/);

    const apiUserText = await cli(['api-users', 'create', '--username', 'reporting', '--permission', 'customers/read']);
    expect(apiUserText.code).toBe(0);
    const apiKey = /\n {2}api_key: ([0-9a-f]{64})\n/.exec(apiUserText.stdout)?.[1];
    expect(apiKey).toBeDefined();
    expect(apiUserText.stdout).toMatch(/^created API user \d+\n {2}username: reporting\n/);
    expect(apiUserText.stdout).toContain('The api_key is shown only this once.');

    // Never again: lists carry no secret.
    const clients = await cli(['clients', 'list', '--json']);
    expect(json(clients)).toEqual({
      clients: [
        { id: 1, clientId: 'demo-client', permissions: ['all'], grantTypes: ['client_credentials', 'password', 'refresh_token'], active: true },
        { id: client.id, clientId: client.clientId, permissions: ['customers/read'], grantTypes: ['client_credentials', 'password'], active: true },
      ],
    });
    const apiUsers = await cli(['api-users', 'list']);
    expect(apiUsers.stdout).toMatch(/^ID +USERNAME +STATUS +PERMISSIONS\n2 +demo-api +active +customers\/read\n\d+ +reporting +active +customers\/read\n$/);
    for (const r of [clients, apiUsers]) expect(r.stdout + r.stderr).not.toMatch(/[0-9a-f]{64}/);

    // Operation failures: exit 1.
    expect(await cli(['api-users', 'create', '--username', 'REPORTING', '--permission', 'all'])).toMatchObject({
      code: 1,
      stderr: 'gatehouse: an API user named REPORTING already exists\n',
    });
    const bad = await cli(['clients', 'create', '--permission', 'customers/steal', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toEqual({
      error: 'invalid_input',
      message: 'not a permission: customers/steal (use <resource>/<read|create|write|delete|all> or all)',
    });
    expect(await cli(['clients', 'delete', 'ghc_nope'])).toMatchObject({ code: 1, stderr: 'gatehouse: no API client "ghc_nope"\n' });
    // An API user's name is not an API client's.
    expect(await cli(['clients', 'deactivate', 'reporting'])).toMatchObject({ code: 1, stderr: 'gatehouse: no API client "reporting"\n' });

    const tokens = await withServer(db.env, async (t) => {
      const c = await clientToken(t.client, client.clientId, client.clientSecret);
      expect(c.response.status).toBe(200);
      const u = await apiUserToken(t.client, 'reporting', apiKey!);
      expect(u.response.status).toBe(200);
      expect(await listStatus(t.client, c.data!.token)).toBe(200);
      expect(await listStatus(t.client, u.data!.token)).toBe(200);
      return { client: c.data!.token, apiUser: u.data!.token };
    });

    const none = await cli(['clients', 'set-permissions', client.clientId, '--none', '--json']);
    expect(json(none)).toMatchObject({ id: client.id, permissions: [] });
    expect((await cli(['api-users', 'set-permissions', 'reporting', '--permission', 'customers/delete'])).stdout).toMatch(
      /^API user \d+ reporting: customers\/delete\n$/,
    );
    expect(await cli(['api-users', 'deactivate', 'reporting'])).toMatchObject({ code: 0 });

    await withServer(db.env, async (t) => {
      expect(await listStatus(t.client, tokens.client)).toBe(403); // permissions come from the store
      expect(await listStatus(t.client, tokens.apiUser)).toBe(401); // deactivated: sessions revoked
      expect((await apiUserToken(t.client, 'reporting', apiKey!)).response.status).toBe(401);
    });

    expect(await cli(['api-users', 'activate', 'reporting'])).toMatchObject({ code: 0 });
    expect(json(await cli(['clients', 'delete', String(client.id), '--json']))).toEqual({ deleted: { id: client.id, clientId: client.clientId } });

    await withServer(db.env, async (t) => {
      expect((await clientToken(t.client, client.clientId, client.clientSecret)).response.status).toBe(401);
      expect(await listStatus(t.client, tokens.client)).toBe(401);
      const again = await apiUserToken(t.client, 'reporting', apiKey!);
      expect(again.response.status).toBe(200);
      expect(await listStatus(t.client, tokens.apiUser)).toBe(401); // reactivation does not revive old tokens
      expect(await listStatus(t.client, again.data!.token)).toBe(403); // customers/delete only
    });
  }, 240_000);

  it("refuses a <name> that is one API user's name and another's id, rather than act on either", async () => {
    // demo-api is API user 2.
    const created = await cli(['api-users', 'create', '--username', '2', '--permission', 'customers/read', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const named2 = json<{ id: number }>(created).id;
    expect(await cli(['api-users', 'deactivate', '2'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `gatehouse: "2" is the name of API user ${named2} and the id of API user 2 ("demo-api"): name API user ${named2} by id, or API user 2 by name\n`,
    });
    expect(await cli(['api-users', 'deactivate', String(named2)])).toMatchObject({ code: 0 });
    expect((await cli(['api-users', 'list'])).stdout).toMatch(/\n2 +demo-api +active /);
  }, 60_000);
});
