/**
 * The fake's managed identity endpoint as App Service and Functions expose it: @azure/identity's
 * ManagedIdentityCredential, with `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` set, gets the fake's token
 * and signs ARM requests with it (checked with `requireToken`); a request without the header, or with
 * a wrong one, is refused as App Service does.
 *
 * MSAL keeps the managed identity source it picks for the whole process (a static), endpoint and
 * header included, so this file uses one fake and sets the environment once.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TidemarkError } from '../../../../shared/errors';
import { ArmClient } from '../../../../shared/fabric/arm/armClient';
import { FakeArm, InstantClock } from '../../../helpers/fakeArm';

const ENV = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'AZURE_FEDERATED_TOKEN_FILE',
] as const;

let fake: FakeArm;
const saved: Partial<Record<(typeof ENV)[number], string>> = {};

beforeAll(async () => {
  fake = await FakeArm.start();
  for (const name of ENV) {
    if (process.env[name] !== undefined) saved[name] = process.env[name];
    delete process.env[name];
  }
  process.env.IDENTITY_ENDPOINT = `${fake.url}/msi/token`;
  process.env.IDENTITY_HEADER = fake.identityHeader;
});

afterAll(async () => {
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await fake.close();
});

describe('the managed identity endpoint', () => {
  it('gives ManagedIdentityCredential the fake token, for the resource it asks', async () => {
    const token = await new ManagedIdentityCredential().getToken('https://management.azure.com/.default');
    expect(token.token).toBe(fake.token);
    const now = Date.now();
    expect(token.expiresOnTimestamp).toBeGreaterThan(now + 50 * 60_000);
    expect(token.expiresOnTimestamp).toBeLessThanOrEqual(now + 61 * 60_000);
    const request = fake.requests.find((r) => r.path === '/msi/token')!;
    expect(request.method).toBe('GET');
    expect(request.query).toEqual({ 'api-version': '2019-08-01', resource: 'https://management.azure.com' });
  });

  it('signs ARM requests through ArmClient; without the token ARM answers 401', async () => {
    fake.clear();
    fake.requireToken = true;
    fake.seed(fake.id('rg'), { location: 'eastus' });
    const client = new ArmClient({
      endpoint: fake.url,
      credential: new ManagedIdentityCredential(),
      clock: new InstantClock(),
    });
    expect(await client.get(fake.id('rg'), '2021-04-01')).toMatchObject({ name: 'rg' });
    expect(fake.requests.at(-1)!.authorization).toBe(`Bearer ${fake.token}`);

    const stranger = new ArmClient({
      endpoint: fake.url,
      credential: {
        getToken: async () => ({ token: 'someone-else', expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      clock: new InstantClock(),
    });
    const err = await stranger.get(fake.id('rg'), '2021-04-01').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidemarkError);
    expect(err).toMatchObject({
      code: 'Internal',
      details: { status: 401, armCode: 'InvalidAuthenticationToken' },
    });
  });

  it('answers the user-assigned identity asked for by client_id', async () => {
    const response = await fetch(
      `${fake.url}/msi/token?api-version=2019-08-01&resource=https://storage.azure.com&client_id=abc`,
      { headers: { 'X-IDENTITY-HEADER': fake.identityHeader } },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: fake.token,
      expires_on: expect.stringMatching(/^\d+$/),
      resource: 'https://storage.azure.com',
      token_type: 'Bearer',
      client_id: 'abc',
    });
  });

  it('refuses a request without the identity header (400) or with a wrong one (401)', async () => {
    const url = `${fake.url}/msi/token?api-version=2019-08-01&resource=https://management.azure.com`;
    const missing = await fetch(url);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('X-IDENTITY-HEADER'),
    });
    const wrong = await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'guess' } });
    expect(wrong.status).toBe(401);
    const noResource = await fetch(`${fake.url}/msi/token?api-version=2019-08-01`, {
      headers: { 'X-IDENTITY-HEADER': fake.identityHeader },
    });
    expect(noResource.status).toBe(400);
  });
});
