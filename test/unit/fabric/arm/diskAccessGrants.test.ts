/**
 * Access grants on managed disks and snapshots against a fake Resource Manager whose answers are
 * scripted (the bytes behind a SAS are test/integration/fabric/arm/diskAccess.test.ts's): the SAS URL
 * found at `Location`, in the Azure-AsyncOperation status's `properties.output`, or at `Location`
 * after a status without output; the exact requests; revoke awaited; what may be granted; the SAS
 * never logged. Also the http rule of createManagedDiskFromBlob's source.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ArmClient } from '../../../../shared/fabric/arm/armClient';
import { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { RecordingLogger } from '../../../../shared/logger';
import { FakeArm, InstantClock, type RecordedRequest, StaticTokenCredential } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const DISKS = 'api-version=2024-03-02';
const GiB = 1024 ** 3;
const SAS =
  'https://md-abc.blob.core.windows.net/xyz/abcd?sv=2018-03-28&sr=b&si=123&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D';

let fake: FakeArm;
let store: ArmFabricStore;
let logger: RecordingLogger;
let G: string;

beforeAll(async () => {
  fake = await FakeArm.start();
  G = `/subscriptions/${fake.subscriptionId}/resourceGroups/app-rg`;
});
afterAll(() => fake.close());

const diskId = (name: string): string => `${G}/providers/Microsoft.Compute/disks/${name}`;
const snapshotId = (name: string): string => `${G}/providers/Microsoft.Compute/snapshots/${name}`;

beforeEach(() => {
  fake.clear();
  logger = new RecordingLogger();
  const client = new ArmClient({
    endpoint: fake.url,
    credential: new StaticTokenCredential(fake.token),
    clock: new InstantClock(),
    logger,
    pollIntervalMs: 1,
  });
  store = new ArmFabricStore('eastus', client, fake.subscriptionId);
});

const post = (suffix: string) => (r: RecordedRequest) => r.method === 'POST' && r.path.endsWith(suffix);
const at = (path: string) => (r: RecordedRequest) => r.method === 'GET' && r.path === path;

function expectNoSecretLogged(): void {
  const logged = JSON.stringify(logger.records);
  expect(logged).not.toContain('sig=');
  expect(logged).not.toContain('md-abc');
}

describe('grantAccess', () => {
  it('finds the SAS at Location: POST beginGetAccess, then Location polled until it is not 202', async () => {
    fake.fault(post('/beginGetAccess'), {
      status: 202,
      headers: { Location: `${fake.url}/grant/1`, 'Retry-After': '0' },
    });
    fake.fault(at('/grant/1'), { status: 202, headers: { Location: `${fake.url}/grant/1` } });
    fake.fault(at('/grant/1'), { status: 200, body: { accessSAS: SAS } });
    expect(await store.grantAccess(snapshotId('snap'), 'Read', 3600)).toBe(SAS);
    expect(fake.lines()).toEqual([
      `POST ${snapshotId('snap')}/beginGetAccess?${DISKS}`,
      'GET /grant/1',
      'GET /grant/1',
    ]);
    expect(fake.requests[0]!.body).toEqual({ access: 'Read', durationInSeconds: 3600 });
    expect(fake.requests.every((r) => r.authorization === `Bearer ${fake.token}`)).toBe(true);
    expect(logger.records.find((r) => r.msg === 'ARM disk access granted')?.fields).toMatchObject({
      resourceId: snapshotId('snap'),
      access: 'Read',
      durationSeconds: 3600,
    });
    expectNoSecretLogged();
  });

  it('finds the SAS in the Azure-AsyncOperation status (properties.output), without reading Location', async () => {
    fake.fault(post('/beginGetAccess'), {
      status: 202,
      headers: { 'Azure-AsyncOperation': `${fake.url}/op/7?${DISKS}`, Location: `${fake.url}/grant/7` },
    });
    fake.fault(at('/op/7'), { status: 200, body: { status: 'InProgress' } });
    fake.fault(at('/op/7'), {
      status: 200,
      body: {
        startTime: '2026-01-01T00:00:00Z',
        endTime: '2026-01-01T00:00:01Z',
        status: 'Succeeded',
        properties: { output: { accessSAS: SAS } },
        name: '7',
      },
    });
    expect(await store.grantAccess(diskId('web1-os'), 'Write', 60)).toBe(SAS);
    expect(fake.lines()).toEqual([
      `POST ${diskId('web1-os')}/beginGetAccess?${DISKS}`,
      `GET /op/7?${DISKS}`,
      `GET /op/7?${DISKS}`,
    ]);
    expect(fake.requests[0]!.body).toEqual({ access: 'Write', durationInSeconds: 60 });
    expectNoSecretLogged();
  });

  it('reads Location when the succeeded status carries no output (final-state-via: location)', async () => {
    fake.fault(post('/beginGetAccess'), {
      status: 202,
      headers: { 'Azure-AsyncOperation': `${fake.url}/op/8`, Location: `${fake.url}/grant/8` },
    });
    fake.fault(at('/op/8'), { status: 200, body: { status: 'Succeeded' } });
    fake.fault(at('/grant/8'), { status: 200, body: { accessSAS: SAS } });
    expect(await store.grantAccess(diskId('web1-os'), 'Read', 60)).toBe(SAS);
    expect(fake.lines()).toEqual([
      `POST ${diskId('web1-os')}/beginGetAccess?${DISKS}`,
      'GET /op/8',
      'GET /grant/8',
    ]);
  });

  it('is an Internal error, without the body, when ARM answers no SAS URL', async () => {
    fake.fault(post('/beginGetAccess'), { status: 202, headers: { Location: `${fake.url}/grant/9` } });
    fake.fault(at('/grant/9'), { status: 200, body: { accessSAS: 'not a url sig=secret' } });
    const err = await caught(store.grantAccess(diskId('web1-os'), 'Read', 60));
    expect(err.code).toBe('Internal');
    expect(err.message).toBe(`Azure granted access to ${diskId('web1-os')} but answered no accessSAS URL.`);
  });

  it("maps Azure's refusal to export an attached disk to a Conflict with a hint", async () => {
    fake.fault(post('/beginGetAccess'), {
      status: 409,
      body: { error: { code: 'OperationNotAllowed', message: 'Disk web1-os is attached to a running VM.' } },
    });
    const err = await caught(store.grantAccess(diskId('web1-os'), 'Read', 60));
    expect(err).toMatchObject({
      code: 'Conflict',
      kind: 'user',
      retryable: false,
      message: 'Disk web1-os is attached to a running VM.',
      details: { status: 409, armCode: 'OperationNotAllowed', resourceId: diskId('web1-os') },
    });
    expect(err.hint).toContain('take a snapshot');
  });

  it('names the role a denied grant needs', async () => {
    fake.fault(post('/beginGetAccess'), {
      status: 403,
      body: { error: { code: 'AuthorizationFailed', message: 'no beginGetAccess/action' } },
    });
    const err = await caught(store.grantAccess(diskId('web1-os'), 'Read', 60));
    expect(err).toMatchObject({ code: 'Internal', retryable: false });
    expect(err.hint).toContain('Disk Snapshot Contributor');
  });

  it('grants only on disks and snapshots, Read or Write, for a positive whole number of seconds', async () => {
    const bad = [
      store.grantAccess(`${G}/providers/Microsoft.Compute/virtualMachines/web1`, 'Read', 60),
      store.grantAccess(`${diskId('d')}/beginGetAccess`, 'Read', 60),
      store.grantAccess('web1-os', 'Read', 60),
      store.grantAccess(diskId('d'), 'Delete' as 'Read', 60),
      store.grantAccess(diskId('d'), 'Read', 0),
      store.grantAccess(diskId('d'), 'Read', 1.5),
      store.revokeAccess(`${G}/providers/Microsoft.Storage/storageAccounts/acct`),
    ];
    for (const p of bad) expect((await caught(p)).code).toBe('InvalidArgument');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('revokeAccess', () => {
  it('POSTs endGetAccess and awaits it', async () => {
    fake.fault(post('/endGetAccess'), {
      status: 202,
      headers: { 'Azure-AsyncOperation': `${fake.url}/op/3`, Location: `${fake.url}/end/3` },
    });
    fake.fault(at('/op/3'), { status: 200, body: { status: 'InProgress' } });
    fake.fault(at('/op/3'), { status: 200, body: { status: 'Succeeded' } });
    await store.revokeAccess(snapshotId('snap'));
    expect(fake.lines()).toEqual([
      `POST ${snapshotId('snap')}/endGetAccess?${DISKS}`,
      'GET /op/3',
      'GET /op/3',
    ]);
    expect(fake.requests[0]!.body).toBeUndefined();
  });
});

describe('createManagedDiskFromBlob', () => {
  const account = (): string =>
    `/subscriptions/${fake.subscriptionId}/resourceGroups/dr-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;

  it('takes a plain http source only from 127.0.0.1 or localhost (a local test server)', async () => {
    fake.seed(G, { location: 'eastus' });
    for (const [name, uri] of [
      ['a', 'http://127.0.0.1:10000/devstoreaccount1/disk-imports/a.vhd'],
      ['b', 'http://localhost:10000/devstoreaccount1/disk-imports/b.vhd'],
      ['c', 'https://tmtarget.blob.core.windows.net/disk-imports/c.vhd'],
    ] as const) {
      const disk = await store.createManagedDiskFromBlob('eastus', 'app-rg', name, uri, account(), GiB);
      expect(disk).toMatchObject({ name, createOption: 'Import', source: uri });
    }
    for (const uri of [
      'http://tmtarget.blob.core.windows.net/disk-imports/d.vhd',
      'http://127.0.0.2/devstoreaccount1/d.vhd',
      'http://[::1]:10000/devstoreaccount1/d.vhd',
      'ftp://127.0.0.1/d.vhd',
      'not a url',
    ]) {
      const err = await caught(store.createManagedDiskFromBlob('eastus', 'app-rg', 'd', uri, account(), GiB));
      expect(err.code).toBe('InvalidArgument');
      expect(err.message).toContain('plain http only to 127.0.0.1 or localhost');
    }
  });
});
