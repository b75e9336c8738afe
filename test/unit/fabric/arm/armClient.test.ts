/**
 * The ARM client against a fake Resource Manager: long-running operations (Azure-AsyncOperation,
 * Location, provisioningState), 429 with Retry-After and 5xx retried on the injected clock (no real
 * sleeps), every error mapped into tidemark's taxonomy, tokens only to the endpoint, over HTTPS or
 * to 127.0.0.1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../../shared/errors';
import { ArmClient } from '../../../../shared/fabric/arm/armClient';
import { checkArmEndpoint } from '../../../../shared/fabric/arm/armAuth';
import { RecordingLogger } from '../../../../shared/logger';
import { FakeArm, InstantClock, StaticTokenCredential } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const NET = '2024-05-01';

let fake: FakeArm;
let clock: InstantClock;
let credential: StaticTokenCredential;
let logger: RecordingLogger;
let client: ArmClient;

beforeAll(async () => {
  fake = await FakeArm.start();
});
afterAll(() => fake.close());

beforeEach(() => {
  fake.clear();
  clock = new InstantClock();
  credential = new StaticTokenCredential();
  logger = new RecordingLogger();
  client = new ArmClient({
    endpoint: fake.url,
    credential,
    clock,
    logger,
    pollIntervalMs: 7,
    retry: { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 25 },
  });
  fake.seed(fake.id('rg'), { location: 'eastus' });
  fake.reset();
});

describe('ArmClient', () => {
  it('awaits a PUT answered 201 + Azure-AsyncOperation, then reads the resource', async () => {
    fake.pollsBeforeDone = 1;
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    const body = { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.1.0.0/16'] } } };
    const saved = await client.put<{ name: string; etag: string }>(id, NET, body);
    expect(saved).toMatchObject({ name: 'v1', etag: 'W/"1"' });
    expect(fake.lines()).toEqual([
      `PUT ${id}?api-version=${NET}`,
      `GET /operations/1?api-version=${NET}`,
      `GET /operations/1?api-version=${NET}`,
      `GET ${id}?api-version=${NET}`,
    ]);
    expect(fake.requests[0]!.body).toEqual(body);
    expect(fake.requests.every((r) => r.authorization === 'Bearer test-token')).toBe(true);
    // Retry-After: 0 on the 201, then the poll interval (the poll answers no Retry-After).
    expect(clock.sleeps).toEqual([0, 7]);
    expect(credential.calls).toBe(1);
    expect(logger.records.map((r) => [r.level, r.msg, r.fields.path])).toContainEqual([
      'info',
      'ARM resource written',
      id,
    ]);
  });

  it('awaits a DELETE answered 202 + Location until it answers 204', async () => {
    fake.pollsBeforeDone = 1;
    fake.lroRetryAfter = undefined;
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    fake.seed(id, { location: 'eastus', properties: {} });
    expect(await client.delete(id, NET)).toBe(true);
    expect(fake.lines()).toEqual([
      `DELETE ${id}?api-version=${NET}`,
      'GET /operationResults/1',
      'GET /operationResults/1',
    ]);
    expect(fake.resources.has(id.toLowerCase())).toBe(false);
    expect(clock.sleeps).toEqual([7, 7]);
    // Nothing there: ARM answers 204.
    expect(await client.delete(id, NET)).toBe(false);
  });

  it('polls the resource when a PUT answers 201 with no operation header', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v2');
    fake.fault(
      (r) => r.method === 'PUT',
      () => {
        fake.seed(id, { location: 'eastus', properties: {} });
        return { status: 201, body: { id, name: 'v2', properties: { provisioningState: 'Updating' } } };
      },
    );
    fake.fault((r) => r.method === 'GET', {
      status: 200,
      body: { id, properties: { provisioningState: 'Updating' } },
    });
    const saved = await client.put<{ name: string }>(id, NET, { location: 'eastus' });
    expect(saved.name).toBe('v2');
    expect(fake.lines()).toEqual([
      `PUT ${id}?api-version=${NET}`,
      `GET ${id}?api-version=${NET}`,
      `GET ${id}?api-version=${NET}`,
    ]);
  });

  it('honours 429 Retry-After, then succeeds', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    fake.seed(id, { location: 'eastus', properties: {} });
    fake.reset();
    fake.fault((r) => r.method === 'GET', {
      status: 429,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'TooManyRequests', message: 'slow down' } },
    });
    expect(await client.get(id, NET)).toMatchObject({ name: 'v1' });
    expect(fake.lines()).toEqual([`GET ${id}?api-version=${NET}`, `GET ${id}?api-version=${NET}`]);
    expect(clock.sleeps).toEqual([1000]);
    expect(logger.records.find((r) => r.msg === 'ARM request retried')?.fields).toMatchObject({
      status: 429,
      delayMs: 1000,
    });
  });

  it('backs off exponentially on 5xx and gives up after maxRetries as StorageUnavailable', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    fake.fault(
      (r) => r.method === 'GET',
      { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'down' } } },
      10,
    );
    const err = await caught(client.get(id, NET));
    expect(err.code).toBe('StorageUnavailable');
    expect(err.retryable).toBe(true);
    expect(fake.requests).toHaveLength(4);
    expect(clock.sleeps).toEqual([10, 20, 25]);
  });

  it('does not wait out a Retry-After beyond its bound', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    fake.fault((r) => r.method === 'GET', { status: 429, headers: { 'Retry-After': '3600' }, body: {} });
    const err = await caught(client.get(id, NET));
    expect(err.code).toBe('StorageUnavailable');
    expect(clock.sleeps).toEqual([]);
  });

  it('maps ARM errors into the taxonomy', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    const put = (): Promise<unknown> => client.put(id, NET, { location: 'eastus' });
    const next = (status: number, code: string, message = 'm'): void =>
      fake.fault((r) => r.method === 'PUT', { status, body: { error: { code, message } } });

    next(409, 'Conflict', 'Another thing.');
    expect(await caught(put())).toMatchObject({ code: 'Conflict', message: 'Another thing.' });
    next(412, 'PreconditionFailed');
    expect(await caught(put())).toMatchObject({ code: 'Conflict', retryable: true });
    next(400, 'InvalidAddressPrefix', 'The prefix 10.1.0.0/33 is invalid.');
    expect(await caught(put())).toMatchObject({
      code: 'InvalidArgument',
      message: 'The prefix 10.1.0.0/33 is invalid.',
    });
    next(400, 'PrivateIPAddressInUse');
    expect((await caught(put())).code).toBe('Conflict');
    next(404, 'ResourceGroupNotFound', "Resource group 'rg' could not be found.");
    expect(await caught(put())).toMatchObject({
      code: 'NotFound',
      message: "Resource group 'rg' could not be found.",
    });
    next(403, 'AuthorizationFailed', 'The client does not have authorization to perform action.');
    const denied = await caught(put());
    expect(denied).toMatchObject({ code: 'Internal', kind: 'system', retryable: false });
    expect(denied.hint).toContain('Network Contributor');
    expect(denied.message).toContain('AuthorizationFailed');
    fake.fault((r) => r.method === 'GET', {
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken', message: 'x' } },
    });
    expect((await caught(client.get(id, NET))).hint).toContain('Reader');
    // A get of nothing is undefined, not an error.
    expect(await client.get(fake.id('rg', 'Microsoft.Network/virtualNetworks', 'none'), NET)).toBeUndefined();
  });

  it('maps a long-running operation that ends Failed', async () => {
    const id = fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1');
    fake.fault((r) => r.path.startsWith('/operations/'), {
      status: 200,
      body: {
        status: 'Failed',
        error: { code: 'InUseSubnetCannotBeDeleted', message: 'Subnet front is in use.' },
      },
    });
    const err = await caught(client.put(id, NET, { location: 'eastus' }));
    expect(err).toMatchObject({ code: 'Conflict', message: 'Subnet front is in use.' });
    fake.fault((r) => r.path.startsWith('/operations/'), {
      status: 200,
      body: { status: 'Failed', error: { code: 'InternalError', message: 'boom' } },
    });
    expect((await caught(client.put(id, NET, { location: 'eastus' }))).code).toBe('Internal');
  });

  it('times out an operation that never ends', async () => {
    const slow = new ArmClient({
      endpoint: fake.url,
      credential,
      clock,
      pollIntervalMs: 1000,
      maxWaitMs: 2500,
    });
    fake.pollsBeforeDone = 100;
    const err = await caught(
      slow.put(fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1'), NET, { location: 'eastus' }),
    );
    expect(err.code).toBe('Timeout');
  });

  it('follows nextLink through every page of a list', async () => {
    const path = `/subscriptions/${fake.subscriptionId}/providers/Microsoft.Network/virtualNetworks`;
    fake.fault((r) => r.path === path && !r.query.page, {
      status: 200,
      body: { value: [{ name: 'a' }], nextLink: `${fake.url}${path}?api-version=${NET}&page=2` },
    });
    fake.fault((r) => r.path === path && r.query.page === '2', {
      status: 200,
      body: { value: [{ name: 'b' }] },
    });
    expect(await client.list<{ name: string }>(path, NET)).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(fake.lines()).toEqual([`GET ${path}?api-version=${NET}`, `GET ${path}?api-version=${NET}&page=2`]);
  });

  it('sends the token to the endpoint only', async () => {
    fake.fault((r) => r.method === 'DELETE', {
      status: 202,
      headers: { Location: 'https://elsewhere.example/op/1' },
    });
    const err = await caught(client.delete(fake.id('rg', 'Microsoft.Network/virtualNetworks', 'v1'), NET));
    expect(err.message).toContain('Refusing to send an ARM token to https://elsewhere.example');
  });

  it('maps a credential that cannot sign in', async () => {
    const failing = (name: string) =>
      new ArmClient({
        endpoint: fake.url,
        clock,
        credential: {
          getToken: async () => {
            throw Object.assign(new Error('no identity here'), { name });
          },
        },
      });
    const unavailable = await caught(failing('CredentialUnavailableError').get(fake.id('rg'), '2021-04-01'));
    expect(unavailable).toMatchObject({ code: 'InvalidConfig' });
    expect(unavailable.message).toContain('no identity here');
    const failed = await caught(failing('AuthenticationError').get(fake.id('rg'), '2021-04-01'));
    expect(failed).toMatchObject({ code: 'Internal', retryable: true });
    expect(fake.requests).toHaveLength(0);
  });

  it('takes HTTPS endpoints, and plain HTTP only to 127.0.0.1', () => {
    expect(checkArmEndpoint('https://management.azure.com').origin).toBe('https://management.azure.com');
    expect(checkArmEndpoint('http://127.0.0.1:8080').port).toBe('8080');
    for (const bad of [
      'http://localhost:8080',
      'http://management.azure.com',
      'not a url',
      'https://x.example/path',
    ]) {
      const err = (() => {
        try {
          checkArmEndpoint(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    }
  });
});
