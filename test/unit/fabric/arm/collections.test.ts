/**
 * The ARM fabric's collections against a fake Resource Manager: the exact requests of each get, list,
 * put and delete (paths, api-versions, bodies, If-Match), the interface's ETag rules, location
 * filtering, case-insensitive names, and read-modify-write that keeps what tidemark does not model.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { ensureNic } from '../../../../shared/fabric/networkInterfaces';
import { FakeArm, fakeArmStore } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const RES = 'api-version=2021-04-01';
const NET = 'api-version=2024-05-01';
const COMPUTE = 'api-version=2024-07-01';
const STORAGE = 'api-version=2023-05-01';

let fake: FakeArm;
let store: ArmFabricStore;
let S: string;

beforeAll(async () => {
  fake = await FakeArm.start();
  S = `/subscriptions/${fake.subscriptionId}`;
});
afterAll(() => fake.close());

beforeEach(() => {
  fake.clear();
  store = fakeArmStore(fake).store;
});

const vnetId = (rg: string, name: string): string =>
  `${S}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/${name}`;
const nicId = (rg: string, name: string): string =>
  `${S}/resourceGroups/${rg}/providers/Microsoft.Network/networkInterfaces/${name}`;

function seedVnet(rg = 'net-rg', name = 'vnet1', extra: Record<string, unknown> = {}): void {
  fake.seed(vnetId(rg, name), {
    location: 'eastus',
    properties: {
      addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
      subnets: [
        {
          name: 'front',
          properties: {
            addressPrefix: '10.1.1.0/24',
            networkSecurityGroup: {
              id: `${S}/resourceGroups/${rg}/providers/Microsoft.Network/networkSecurityGroups/nsg`,
            },
          },
        },
      ],
    },
    ...extra,
  });
}

function seedNic(
  rg: string,
  name: string,
  ip: string,
  subnet = `${vnetId('net-rg', 'vnet1')}/subnets/front`,
): void {
  fake.seed(nicId(rg, name), {
    location: 'eastus',
    properties: {
      ipConfigurations: [
        {
          name: 'ipconfig1',
          properties: {
            subnet: { id: subnet },
            privateIPAddress: ip,
            privateIPAllocationMethod: 'Static',
            primary: true,
          },
        },
      ],
    },
  });
}

describe('resource groups', () => {
  it('gets, lists (this region only) and creates, in any case of the name', async () => {
    fake.seed(`${S}/resourceGroups/Shop-RG`, { location: 'eastus', tags: { team: 'a' } });
    fake.seed(`${S}/resourceGroups/west-rg`, { location: 'westus' });
    fake.reset();
    expect(await store.resourceGroups.get('shop-rg')).toMatchObject({
      name: 'Shop-RG',
      region: 'eastus',
      tags: { team: 'a' },
    });
    expect(await store.resourceGroups.get('west-rg')).toBeUndefined();
    expect((await store.resourceGroups.list()).map((g) => g.name)).toEqual(['Shop-RG']);
    const made = await store.resourceGroups.put({ name: 'new-rg', region: 'eastus' });
    expect(made.etag).toMatch(/^tidemark:[0-9a-f]{32}$/);
    expect(fake.lines()).toEqual([
      `GET ${S}/resourceGroups/shop-rg?${RES}`,
      `GET ${S}/resourceGroups/west-rg?${RES}`,
      `GET ${S}/resourcegroups?${RES}`,
      `GET ${S}/resourceGroups/new-rg?${RES}`,
      `PUT ${S}/resourceGroups/new-rg?${RES}`,
    ]);
    expect(fake.requests[4]!.body).toEqual({ location: 'eastus' });
  });

  it('follows the ETag rules with computed versions', async () => {
    const group = await store.resourceGroups.put({ name: 'rg1', region: 'eastus' });
    expect(await caught(store.resourceGroups.put({ name: 'RG1', region: 'eastus' }))).toMatchObject({
      code: 'Conflict',
    });
    const tagged = await store.resourceGroups.put({ ...group, tags: { env: 'dr' } });
    expect(tagged.etag).not.toBe(group.etag);
    fake.reset();
    expect(await caught(store.resourceGroups.put({ ...group, tags: { env: 'x' } }))).toMatchObject({
      code: 'Conflict',
      retryable: true,
    });
    expect(fake.lines()).toEqual([`GET ${S}/resourceGroups/rg1?${RES}`]);
    expect(
      await caught(store.resourceGroups.put({ name: 'gone', region: 'eastus', etag: tagged.etag })),
    ).toMatchObject({ code: 'NotFound' });
    expect(await caught(store.resourceGroups.put({ name: 'rg2', region: 'westus' }))).toMatchObject({
      code: 'InvalidArgument',
    });
    // A group of that name in another region exists all the same: ARM names are per subscription.
    fake.seed(`${S}/resourceGroups/west-rg`, { location: 'westus' });
    expect((await caught(store.resourceGroups.put({ name: 'west-rg', region: 'eastus' }))).message).toContain(
      '(in westus)',
    );
  });

  it('deletes an empty group only, and awaits the deletion', async () => {
    fake.seed(`${S}/resourceGroups/full-rg`, { location: 'eastus' });
    seedVnet('full-rg');
    fake.seed(`${S}/resourceGroups/empty-rg`, { location: 'eastus' });
    fake.reset();
    const full = await caught(store.resourceGroups.delete('full-rg'));
    expect(full.code).toBe('Conflict');
    expect(full.message).toContain('Microsoft.Network/virtualNetworks vnet1');
    expect(await store.resourceGroups.delete('empty-rg')).toBe(true);
    expect(await store.resourceGroups.delete('empty-rg')).toBe(false);
    expect(fake.lines()).toEqual([
      `GET ${S}/resourceGroups/full-rg?${RES}`,
      `GET ${S}/resourceGroups/full-rg/resources?$top=1&${RES}`,
      `GET ${S}/resourceGroups/empty-rg?${RES}`,
      `GET ${S}/resourceGroups/empty-rg/resources?$top=1&${RES}`,
      `DELETE ${S}/resourceGroups/empty-rg?${RES}`,
      'GET /operationResults/1',
      `GET ${S}/resourceGroups/empty-rg?${RES}`,
    ]);
  });
});

describe('virtual networks', () => {
  beforeEach(() => {
    fake.seed(`${S}/resourceGroups/net-rg`, { location: 'eastus' });
    fake.reset();
  });

  it('creates one with its subnets: one PUT, awaited, then read', async () => {
    const vnet = await store.virtualNetworks.put({
      resourceGroup: 'net-rg',
      name: 'vnet2',
      region: 'eastus',
      addressSpace: ['10.2.0.0/16'],
      subnets: [{ name: 'front', addressPrefix: '10.2.1.0/24' }],
      tags: { app: 'shop' },
    });
    expect(vnet).toEqual({
      resourceGroup: 'net-rg',
      name: 'vnet2',
      region: 'eastus',
      addressSpace: ['10.2.0.0/16'],
      subnets: [{ name: 'front', addressPrefix: '10.2.1.0/24' }],
      tags: { app: 'shop' },
      etag: 'W/"1"',
    });
    expect(fake.lines()).toEqual([
      `GET ${vnetId('net-rg', 'vnet2')}?${NET}`,
      `PUT ${vnetId('net-rg', 'vnet2')}?${NET}`,
      `GET /operations/1?${NET}`,
      `GET ${vnetId('net-rg', 'vnet2')}?${NET}`,
    ]);
    expect(fake.requests[1]!.body).toEqual({
      location: 'eastus',
      tags: { app: 'shop' },
      properties: {
        addressSpace: { addressPrefixes: ['10.2.0.0/16'] },
        subnets: [{ name: 'front', properties: { addressPrefix: '10.2.1.0/24' } }],
      },
    });
    expect(fake.requests[1]!.ifMatch).toBeUndefined();
  });

  it('reads IP allocations from the NICs in each subnet', async () => {
    seedVnet();
    seedNic('app-rg', 'web1-nic', '10.1.1.4');
    fake.seed(`${S}/resourceGroups/app-rg`, { location: 'eastus' });
    fake.reset();
    const vnet = await store.virtualNetworks.get('NET-RG', 'VNET1');
    expect(vnet?.subnets).toEqual([
      {
        name: 'front',
        addressPrefix: '10.1.1.0/24',
        ipConfigurations: [{ nic: { resourceGroup: 'app-rg', name: 'web1-nic' }, privateIp: '10.1.1.4' }],
      },
    ]);
    expect(fake.lines()).toEqual([
      `GET ${S}/resourceGroups/NET-RG/providers/Microsoft.Network/virtualNetworks/VNET1?${NET}`,
      `GET ${S}/resourceGroups/app-rg/providers/Microsoft.Network/networkInterfaces?${NET}`,
    ]);
  });

  it('adds a subnet with If-Match, keeping what ARM has on the others', async () => {
    seedVnet();
    const vnet = (await store.virtualNetworks.get('net-rg', 'vnet1'))!;
    fake.reset();
    const saved = await store.virtualNetworks.put({
      ...vnet,
      subnets: [...vnet.subnets, { name: 'back', addressPrefix: '10.1.2.0/24' }],
    });
    expect(saved.subnets.map((s) => s.name)).toEqual(['front', 'back']);
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.ifMatch).toBe(vnet.etag);
    expect(put.body).toEqual({
      id: vnetId('net-rg', 'vnet1'),
      name: 'vnet1',
      type: 'Microsoft.Network/virtualNetworks',
      location: 'eastus',
      properties: {
        addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
        subnets: [
          {
            id: `${vnetId('net-rg', 'vnet1')}/subnets/front`,
            name: 'front',
            properties: {
              addressPrefix: '10.1.1.0/24',
              networkSecurityGroup: {
                id: `${S}/resourceGroups/net-rg/providers/Microsoft.Network/networkSecurityGroups/nsg`,
              },
            },
          },
          { name: 'back', properties: { addressPrefix: '10.1.2.0/24' } },
        ],
      },
    });
  });

  it('sends nothing for a put that changes only what ARM computes (an IP claim)', async () => {
    seedVnet();
    const vnet = (await store.virtualNetworks.get('net-rg', 'vnet1'))!;
    fake.reset();
    const claimed = {
      ...vnet,
      subnets: [
        {
          ...vnet.subnets[0]!,
          ipConfigurations: [{ nic: { resourceGroup: 'x', name: 'n' }, privateIp: '10.1.1.9' }],
        },
      ],
    };
    expect((await store.virtualNetworks.put(claimed)).etag).toBe(vnet.etag);
    expect(fake.lines()).toEqual([`GET ${vnetId('net-rg', 'vnet1')}?${NET}`]);
  });

  it('is a Conflict when the etag is stale, before or at the PUT (412)', async () => {
    seedVnet();
    const vnet = (await store.virtualNetworks.get('net-rg', 'vnet1'))!;
    const next = { ...vnet, addressSpace: ['10.1.0.0/16', '10.9.0.0/16'] };
    expect(await caught(store.virtualNetworks.put({ ...next, etag: 'W/"old"' }))).toMatchObject({
      code: 'Conflict',
      retryable: true,
    });
    // Changed between the read and the PUT: ARM answers 412 to the If-Match.
    fake.fault(
      (r) => r.method === 'PUT',
      () => {
        seedVnet();
        return undefined;
      },
    );
    fake.reset();
    expect(await caught(store.virtualNetworks.put(next))).toMatchObject({
      code: 'Conflict',
      retryable: true,
    });
    expect(fake.requests.map((r) => [r.method, r.ifMatch])).toEqual([
      ['GET', undefined],
      ['PUT', vnet.etag],
    ]);
  });

  it('lists the region’s VNets and deletes with If-Match', async () => {
    seedVnet();
    fake.seed(vnetId('net-rg', 'far'), { location: 'westus', properties: {} });
    fake.reset();
    const [only, ...rest] = await store.virtualNetworks.list();
    expect([only?.name, rest]).toEqual(['vnet1', []]);
    expect(await store.virtualNetworks.list('other-rg')).toEqual([]);
    expect(await store.virtualNetworks.get('net-rg', 'far')).toBeUndefined();
    expect(await store.virtualNetworks.delete('net-rg', 'far')).toBe(false);
    expect(await caught(store.virtualNetworks.delete('net-rg', 'vnet1', { etag: 'W/"old"' }))).toMatchObject({
      code: 'Conflict',
    });
    fake.reset();
    expect(await store.virtualNetworks.delete('net-rg', 'vnet1', { etag: only!.etag })).toBe(true);
    expect(fake.lines()).toEqual([
      `GET ${vnetId('net-rg', 'vnet1')}?${NET}`,
      `DELETE ${vnetId('net-rg', 'vnet1')}?${NET}`,
      'GET /operationResults/1',
    ]);
    expect(fake.requests[1]!.ifMatch).toBe(only!.etag);
  });
});

describe('network interfaces', () => {
  const subnet = { resourceGroup: 'net-rg', vnet: 'vnet1', subnet: 'front' };
  beforeEach(() => {
    fake.seed(`${S}/resourceGroups/net-rg`, { location: 'eastus' });
    fake.seed(`${S}/resourceGroups/app-rg`, { location: 'eastus' });
    seedVnet();
    fake.reset();
  });

  it('gets the next free address and PUTs the NIC with it, Static', async () => {
    const nic = await ensureNic(store, { resourceGroup: 'app-rg', name: 'web1-nic', subnet, vm: 'web1' });
    expect(nic).toEqual({
      resourceGroup: 'app-rg',
      name: 'web1-nic',
      region: 'eastus',
      subnet,
      privateIp: '10.1.1.4',
      vm: 'web1',
      etag: 'W/"2"',
    });
    expect(fake.lines()).toEqual([
      `GET ${nicId('app-rg', 'web1-nic')}?${NET}`,
      `GET ${vnetId('net-rg', 'vnet1')}?${NET}`,
      // The claim changes nothing ARM keeps: the VNet is read, not written.
      `GET ${vnetId('net-rg', 'vnet1')}?${NET}`,
      `GET ${nicId('app-rg', 'web1-nic')}?${NET}`,
      `PUT ${nicId('app-rg', 'web1-nic')}?${NET}`,
      `GET /operations/1?${NET}`,
      `GET ${nicId('app-rg', 'web1-nic')}?${NET}`,
    ]);
    expect(fake.requests[4]!.body).toEqual({
      location: 'eastus',
      tags: { 'tidemark-vm': 'web1' },
      properties: {
        ipConfigurations: [
          {
            name: 'ipconfig1',
            properties: {
              subnet: { id: `${vnetId('net-rg', 'vnet1')}/subnets/front` },
              privateIPAddress: '10.1.1.4',
              privateIPAllocationMethod: 'Static',
              primary: true,
            },
          },
        ],
      },
    });
    // The next NIC sees the first one's address through the subnet.
    const second = await ensureNic(store, { resourceGroup: 'app-rg', name: 'web2-nic', subnet, vm: 'web2' });
    expect(second.privateIp).toBe('10.1.1.5');
    const fromEnd = await ensureNic(
      store,
      { resourceGroup: 'app-rg', name: 'test-nic', subnet, vm: 't' },
      { fromEnd: true },
    );
    expect(fromEnd.privateIp).toBe('10.1.1.254');
  });

  it('takes the next address when ARM says the one it chose is in use (a concurrent NIC)', async () => {
    fake.fault(
      (r) => r.method === 'PUT' && r.path.endsWith('/web1-nic'),
      () => {
        seedNic('app-rg', 'rival-nic', '10.1.1.4');
        return undefined;
      },
    );
    const nic = await ensureNic(store, { resourceGroup: 'app-rg', name: 'web1-nic', subnet, vm: 'web1' });
    expect(nic.privateIp).toBe('10.1.1.5');
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((p) => JSON.stringify(p.body).match(/10\.1\.1\.\d+/)?.[0])).toEqual([
      '10.1.1.4',
      '10.1.1.5',
    ]);
  });

  it('maps a taken address to Conflict and keeps the preferred one when free', async () => {
    seedNic('app-rg', 'a-nic', '10.1.1.7');
    const err = await caught(
      store.networkInterfaces.put({
        resourceGroup: 'app-rg',
        name: 'b-nic',
        region: 'eastus',
        subnet,
        privateIp: '10.1.1.7',
      }),
    );
    expect(err.code).toBe('Conflict');
    expect(err.message).toContain('10.1.1.7');
    const kept = await ensureNic(
      store,
      { resourceGroup: 'app-rg', name: 'c-nic', subnet, vm: 'c' },
      { preferred: '10.1.1.20' },
    );
    expect(kept.privateIp).toBe('10.1.1.20');
  });

  it('shows the VM that uses a NIC from ARM, and keeps its other settings on update', async () => {
    fake.seed(nicId('app-rg', 'db-nic'), {
      location: 'eastus',
      properties: {
        enableAcceleratedNetworking: true,
        ipConfigurations: [
          {
            name: 'primary',
            properties: {
              subnet: { id: `${vnetId('net-rg', 'vnet1')}/subnets/front` },
              privateIPAddress: '10.1.1.8',
              privateIPAllocationMethod: 'Dynamic',
              primary: true,
            },
          },
        ],
      },
    });
    fake.seed(`${S}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/db`, {
      location: 'eastus',
      properties: { networkProfile: { networkInterfaces: [{ id: nicId('app-rg', 'db-nic') }] } },
    });
    const nic = (await store.networkInterfaces.get('app-rg', 'DB-NIC'))!;
    expect(nic).toMatchObject({ name: 'db-nic', vm: 'db', privateIp: '10.1.1.8' });
    fake.reset();
    await store.networkInterfaces.put({ ...nic, tags: { owner: 'dba' } });
    expect(fake.requests[1]!.ifMatch).toBe(nic.etag);
    expect(fake.requests[1]!.body).toEqual({
      id: nicId('app-rg', 'db-nic'),
      name: 'db-nic',
      type: 'Microsoft.Network/networkInterfaces',
      location: 'eastus',
      tags: { owner: 'dba' },
      properties: {
        enableAcceleratedNetworking: true,
        ipConfigurations: [
          {
            id: `${nicId('app-rg', 'db-nic')}/ipConfigurations/primary`,
            name: 'primary',
            properties: {
              subnet: { id: `${vnetId('net-rg', 'vnet1')}/subnets/front` },
              privateIPAddress: '10.1.1.8',
              privateIPAllocationMethod: 'Static',
              primary: true,
            },
          },
        ],
      },
    });
  });
});

describe('availability sets and storage accounts', () => {
  beforeEach(() => {
    fake.seed(`${S}/resourceGroups/app-rg`, { location: 'eastus' });
    fake.reset();
  });

  it('creates an Aligned availability set and versions it without an ARM etag', async () => {
    const path = `${S}/resourceGroups/app-rg/providers/Microsoft.Compute/availabilitySets/avset`;
    const made = await store.availabilitySets.put({
      resourceGroup: 'app-rg',
      name: 'avset',
      region: 'eastus',
      faultDomainCount: 2,
      updateDomainCount: 5,
    });
    expect(made).toMatchObject({ name: 'avset', faultDomainCount: 2, updateDomainCount: 5 });
    expect(made.etag).toMatch(/^tidemark:/);
    expect(fake.lines()).toEqual([`GET ${path}?${COMPUTE}`, `PUT ${path}?${COMPUTE}`]);
    expect(fake.requests[1]!.body).toEqual({
      location: 'eastus',
      sku: { name: 'Aligned' },
      properties: { platformFaultDomainCount: 2, platformUpdateDomainCount: 5 },
    });
    const changed = await store.availabilitySets.put({ ...made, updateDomainCount: 10 });
    expect(changed.etag).not.toBe(made.etag);
    expect(await caught(store.availabilitySets.put({ ...made, updateDomainCount: 3 }))).toMatchObject({
      code: 'Conflict',
    });
    fake.reset();
    expect(await store.availabilitySets.delete('app-rg', 'avset', { etag: changed.etag })).toBe(true);
    expect(fake.lines()).toEqual([`GET ${path}?${COMPUTE}`, `DELETE ${path}?${COMPUTE}`]);
    // No ARM etag: nothing to send as If-Match; the version was checked against the read.
    expect(fake.requests[1]!.ifMatch).toBeUndefined();
  });

  it('reads storage accounts and refuses to write them', async () => {
    const id = (n: string): string =>
      `${S}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/${n}`;
    fake.seed(id('tmtarget'), { location: 'eastus', kind: 'StorageV2' });
    fake.seed(id('tmold'), { location: 'eastus', kind: 'Storage' });
    fake.reset();
    expect(await store.storageAccounts.get('app-rg', 'tmtarget')).toMatchObject({
      name: 'tmtarget',
      kind: 'StorageV2',
    });
    expect(await store.storageAccounts.get('app-rg', 'tmold')).toBeUndefined();
    expect((await store.storageAccounts.list()).map((a) => a.name)).toEqual(['tmtarget']);
    expect(fake.lines()).toEqual([
      `GET ${id('tmtarget')}?${STORAGE}`,
      `GET ${id('tmold')}?${STORAGE}`,
      `GET ${S}/providers/Microsoft.Storage/storageAccounts?${STORAGE}`,
    ]);
    const err = await caught(
      store.storageAccounts.put({ resourceGroup: 'app-rg', name: 'x', region: 'eastus', kind: 'StorageV2' }),
    );
    expect(err.code).toBe('InvalidArgument');
  });
});

describe('network mappings', () => {
  const source = { resourceGroup: 'net-rg', name: 'vnet1' };
  const mapping = {
    sourceRegion: 'eastus',
    sourceVnet: source,
    targetRegion: 'westus',
    targetVnet: { resourceGroup: 'net-rg-asr', name: 'vnet1-asr' },
  };
  beforeEach(() => {
    fake.seed(`${S}/resourceGroups/net-rg`, { location: 'eastus' });
    seedVnet('net-rg', 'vnet1', { tags: { owner: 'net' } });
    fake.reset();
  });

  it('keeps a mapping as a tag on the source VNet, written with If-Match', async () => {
    const vnetEtag = (await store.virtualNetworks.get('net-rg', 'vnet1'))!.etag;
    fake.reset();
    const saved = await store.networkMappings.put(mapping);
    expect(saved).toMatchObject(mapping);
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(vnetId('net-rg', 'vnet1'));
    expect(put.ifMatch).toBe(vnetEtag);
    expect((put.body as { tags: unknown }).tags).toEqual({
      owner: 'net',
      'tidemark-mapping-westus': `${S}/resourceGroups/net-rg-asr/providers/Microsoft.Network/virtualNetworks/vnet1-asr`,
    });
    // The VNet's own tags don't show the mapping.
    expect((await store.virtualNetworks.get('net-rg', 'vnet1'))!.tags).toEqual({ owner: 'net' });
    expect(await store.networkMappings.get({ resourceGroup: 'NET-RG', name: 'VNET1' }, 'WestUS')).toEqual(
      saved,
    );
    expect(await store.networkMappings.list()).toEqual([saved]);
    expect(await caught(store.networkMappings.put(mapping))).toMatchObject({ code: 'Conflict' });
    expect(await caught(store.networkMappings.put({ ...mapping, sourceRegion: 'westus' }))).toMatchObject({
      code: 'InvalidArgument',
    });
    expect(
      await caught(
        store.networkMappings.put({ ...mapping, sourceVnet: { resourceGroup: 'net-rg', name: 'none' } }),
      ),
    ).toMatchObject({ code: 'NotFound' });
    const moved = await store.networkMappings.put({
      ...saved,
      targetVnet: { resourceGroup: 'other', name: 'v2' },
    });
    expect(moved.etag).not.toBe(saved.etag);
    expect(await caught(store.networkMappings.delete(source, 'westus', { etag: saved.etag }))).toMatchObject({
      code: 'Conflict',
    });
    expect(await store.networkMappings.delete(source, 'westus', { etag: moved.etag })).toBe(true);
    expect(await store.networkMappings.get(source, 'westus')).toBeUndefined();
    expect(await store.networkMappings.delete(source, 'westus')).toBe(false);
  });
});
