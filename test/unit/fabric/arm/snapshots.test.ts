/**
 * Managed snapshots in the ARM fabric against a fake Resource Manager: the exact create request
 * (path, api-version, body), awaited; idempotent for the same source, a Conflict for another; what a
 * source may be; get and delete.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { FakeArm, fakeArmStore } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const SNAPSHOTS = 'api-version=2024-03-02';
const GiB = 1024 ** 3;

let fake: FakeArm;
let store: ArmFabricStore;
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
  store = fakeArmStore(fake).store;
  fake.seed(G, { location: 'eastus' });
  fake.seed(diskId('web1-os'), { location: 'eastus', properties: { diskSizeGB: 4, diskSizeBytes: 4 * GiB } });
  fake.reset();
});

describe('managed snapshots', () => {
  it('takes a snapshot of a disk: one PUT, awaited, then read', async () => {
    const made = await store.snapshots.create('EastUS', 'app-rg', 'web1-os-snap', diskId('web1-os'), {
      incremental: true,
      tags: { reason: 'test' },
    });
    expect(made).toEqual({
      id: snapshotId('web1-os-snap'),
      resourceGroup: 'app-rg',
      name: 'web1-os-snap',
      region: 'eastus',
      sizeBytes: 0,
      source: diskId('web1-os'),
      incremental: true,
    });
    expect(fake.lines()).toEqual([
      `GET ${snapshotId('web1-os-snap')}?${SNAPSHOTS}`,
      `PUT ${snapshotId('web1-os-snap')}?${SNAPSHOTS}`,
      `GET /operations/1?${SNAPSHOTS}`,
      `GET ${snapshotId('web1-os-snap')}?${SNAPSHOTS}`,
    ]);
    expect(fake.requests[1]!.body).toEqual({
      location: 'eastus',
      tags: { reason: 'test' },
      properties: {
        creationData: { createOption: 'Copy', sourceResourceId: diskId('web1-os') },
        incremental: true,
      },
    });
    expect(await store.snapshots.get('app-rg', 'WEB1-OS-SNAP')).toEqual(made);
  });

  it('sends incremental false and the sku when asked, and nothing else', async () => {
    await store.snapshots.create('eastus', 'app-rg', 's', diskId('web1-os'), { sku: 'Standard_ZRS' });
    expect(fake.requests[1]!.body).toEqual({
      location: 'eastus',
      sku: { name: 'Standard_ZRS' },
      properties: {
        creationData: { createOption: 'Copy', sourceResourceId: diskId('web1-os') },
        incremental: false,
      },
    });
  });

  it('is idempotent for the same source (any case), a Conflict for another', async () => {
    const made = await store.snapshots.create('eastus', 'app-rg', 'snap', diskId('web1-os'));
    fake.reset();
    expect(await store.snapshots.create('eastus', 'app-rg', 'snap', diskId('web1-os').toUpperCase())).toEqual(
      made,
    );
    expect(fake.lines()).toEqual([`GET ${snapshotId('snap')}?${SNAPSHOTS}`]);
    const err = await caught(store.snapshots.create('eastus', 'app-rg', 'snap', diskId('web1-data')));
    expect(err).toMatchObject({ code: 'Conflict', details: { snapshot: snapshotId('snap') } });
    expect(err.message).toContain(`exists of another source (${diskId('web1-os')})`);
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });

  it('takes disks and snapshots as sources, in its own region, and nothing else', async () => {
    await store.snapshots.create('eastus', 'app-rg', 'copy', snapshotId('other'));
    fake.reset();
    const bad = [
      store.snapshots.create(
        'eastus',
        'app-rg',
        's',
        `${G}/providers/Microsoft.Compute/virtualMachines/web1`,
      ),
      store.snapshots.create('eastus', 'app-rg', 's', `${diskId('web1-os')}/extra/x`),
      store.snapshots.create('eastus', 'app-rg', 's', 'web1-os'),
      store.snapshots.create('westus', 'app-rg', 's', diskId('web1-os')),
      store.snapshots.create('eastus', 'app-rg', 'bad/name', diskId('web1-os')),
    ];
    for (const p of bad) expect((await caught(p)).code).toBe('InvalidArgument');
    expect(fake.requests).toHaveLength(0);
  });

  it('deletes with a Location operation; false when there is none', async () => {
    await store.snapshots.create('eastus', 'app-rg', 'snap', diskId('web1-os'));
    fake.reset();
    expect(await store.snapshots.delete('app-rg', 'snap')).toBe(true);
    expect(fake.lines()).toEqual([
      `DELETE ${snapshotId('snap')}?${SNAPSHOTS}`,
      expect.stringMatching(/^GET \/operationResults\/\d+$/),
    ]);
    expect(await store.snapshots.delete('app-rg', 'snap')).toBe(false);
    expect(await store.snapshots.get('app-rg', 'snap')).toBeUndefined();
  });
});
