/** The local fabric store on real Azurite: conditional writes by ETag, case-insensitive names, lists. */
import { TableClient } from '@azure/data-tables';
import { beforeAll, describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import { TableAgentEndpointStore } from '../../../shared/fabric/agentEndpoints';
import { TableFabricStore } from '../../../shared/fabric/tableFabricStore';
import type { VirtualMachine, VirtualNetwork } from '../../../shared/fabric/types';
import { useAzurite, uniqueName } from '../../helpers/azurite';

async function code(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (isTidemarkError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a TidemarkError');
}

function vnet(rg: string, name: string): VirtualNetwork {
  return {
    resourceGroup: rg,
    name,
    region: 'eastus',
    addressSpace: ['10.1.0.0/16'],
    subnets: [{ name: 'web', addressPrefix: '10.1.1.0/24' }],
  };
}

function vm(rg: string, name: string): VirtualMachine {
  return {
    resourceGroup: rg,
    name,
    region: 'eastus',
    size: 'Standard_B1s',
    powerState: 'Running',
    nics: [`${name}-nic`],
    disks: [
      {
        name: 'os',
        lun: 0,
        sizeBytes: 1 << 20,
        blob: { region: 'eastus', container: 'disks', name: `${rg}/${name}/os` },
      },
    ],
  };
}

describe('TableFabricStore (real Azurite)', () => {
  const azurite = useAzurite();
  let store: TableFabricStore;

  beforeAll(() => {
    const client = (t: string): TableClient =>
      TableClient.fromConnectionString(azurite().connectionString, t, { allowInsecureConnection: true });
    store = new TableFabricStore('EastUS', client(uniqueName('fabric')), client(uniqueName('mappings')));
  });

  it('creates once, then replaces only the version it read', async () => {
    const created = await store.resourceGroups.put({ name: 'Demo-RG', region: 'eastus' });
    expect(created.etag).toBeTruthy();
    expect(await code(store.resourceGroups.put({ name: 'demo-rg', region: 'eastus' }))).toBe('Conflict');
    const updated = await store.resourceGroups.put({ ...created, tags: { env: 'test' } });
    expect(updated.etag).not.toBe(created.etag);
    expect(await code(store.resourceGroups.put({ ...created, tags: { env: 'stale' } }))).toBe('Conflict');
    expect(await store.resourceGroups.get('DEMO-rg')).toEqual({ ...updated });
    expect(await code(store.resourceGroups.delete('demo-rg', { etag: created.etag }))).toBe('Conflict');
    expect(await store.resourceGroups.delete('demo-rg', { etag: updated.etag })).toBe(true);
    expect(await store.resourceGroups.delete('demo-rg')).toBe(false);
    expect(await code(store.resourceGroups.put(updated))).toBe('NotFound');
    const forced = await store.resourceGroups.put({ ...updated, etag: '*' });
    expect(forced.name).toBe('Demo-RG');
  });

  it('keeps the case a name was created with and finds it in any case', async () => {
    await store.virtualNetworks.put(vnet('rg1', 'Demo-VNet'));
    const got = await store.virtualNetworks.get('RG1', 'demo-vnet');
    expect(got).toMatchObject({ resourceGroup: 'rg1', name: 'Demo-VNet', subnets: [{ name: 'web' }] });
  });

  it('lists by kind, in one resource group or all', async () => {
    await store.virtualMachines.put(vm('rg1', 'web1'));
    await store.virtualMachines.put(vm('rg1', 'db1'));
    await store.virtualMachines.put(vm('rg2', 'app1'));
    await store.networkInterfaces.put({
      resourceGroup: 'rg1',
      name: 'web1-nic',
      region: 'eastus',
      subnet: { resourceGroup: 'rg1', vnet: 'Demo-VNet', subnet: 'web' },
      privateIp: '10.1.1.4',
      vm: 'web1',
    });
    expect((await store.virtualMachines.list('rg1')).map((v) => v.name).sort()).toEqual(['db1', 'web1']);
    expect((await store.virtualMachines.list()).map((v) => v.name).sort()).toEqual(['app1', 'db1', 'web1']);
    expect((await store.networkInterfaces.list()).map((n) => n.name)).toEqual(['web1-nic']);
    expect(await store.availabilitySets.list()).toEqual([]);
  });

  it('refuses records that break the rules, or belong to another region', async () => {
    expect(await code(store.virtualMachines.put({ ...vm('rg1', 'x'), name: 'bad.' }))).toBe(
      'InvalidArgument',
    );
    expect(await code(store.virtualMachines.put({ ...vm('rg1', 'x'), region: 'westus' }))).toBe(
      'InvalidArgument',
    );
    const overlapping = { ...vnet('rg1', 'v2'), subnets: [{ name: 'a', addressPrefix: '10.9.0.0/24' }] };
    expect(await code(store.virtualNetworks.put(overlapping))).toBe('InvalidArgument');
    expect(
      await code(
        store.storageAccounts.put({ resourceGroup: 'rg1', name: 'Bad', region: 'eastus', kind: 'StorageV2' }),
      ),
    ).toBe('InvalidArgument');
  });

  it('stores big records across several properties', async () => {
    const big = vnet('rg3', 'big');
    big.addressSpace = ['10.0.0.0/8'];
    big.subnets = [
      {
        name: 'huge',
        addressPrefix: '10.0.0.0/16',
        ipConfigurations: Array.from({ length: 3000 }, (_, i) => ({
          nic: { resourceGroup: 'rg3', name: `nic-${i}` },
          privateIp: `10.0.${Math.floor((i + 4) / 256)}.${(i + 4) % 256}`,
        })),
      },
    ];
    const saved = await store.virtualNetworks.put(big);
    const got = await store.virtualNetworks.get('rg3', 'big');
    expect(got?.subnets[0]?.ipConfigurations).toHaveLength(3000);
    expect(got?.etag).toBe(saved.etag);
  });

  it('keeps network mappings keyed by source VNet and target region', async () => {
    const mapping = {
      sourceRegion: 'eastus',
      sourceVnet: { resourceGroup: 'rg1', name: 'Demo-VNet' },
      targetRegion: 'westus',
      targetVnet: { resourceGroup: 'rg1-asr', name: 'Demo-VNet-asr' },
    };
    const saved = await store.networkMappings.put(mapping);
    expect(await store.networkMappings.get({ resourceGroup: 'RG1', name: 'demo-vnet' }, 'WestUS')).toEqual(
      saved,
    );
    expect(await code(store.networkMappings.put(mapping))).toBe('Conflict');
    expect(
      await code(store.networkMappings.put({ ...mapping, sourceRegion: 'westus', targetRegion: 'eastus' })),
    ).toBe('InvalidArgument');
    expect(await store.networkMappings.list()).toHaveLength(1);
    expect(await store.networkMappings.delete(mapping.sourceVnet, 'westus')).toBe(true);
  });

  it('keeps agent endpoints beside the VMs without disturbing them', async () => {
    const real = TableFabricStore.fromConnectionString('eastus', azurite().connectionString);
    const endpoints = TableAgentEndpointStore.fromConnectionString(azurite().connectionString);
    const saved = await real.virtualMachines.put(vm('rg9', 'web1'));
    await endpoints.put({
      resourceGroup: 'rg9',
      vm: 'web1',
      host: '127.0.0.1',
      port: 10809,
      exports: ['os'],
      updatedAt: 'now',
    });
    expect(await endpoints.get('RG9', 'WEB1')).toMatchObject({ port: 10809, exports: ['os'] });
    expect(await endpoints.list()).toHaveLength(1);
    expect((await real.virtualMachines.list()).map((v) => v.name)).toEqual(['web1']);
    expect((await real.virtualMachines.get('rg9', 'web1'))?.etag).toBe(saved.etag);
    await endpoints.delete('rg9', 'web1');
    expect(await endpoints.get('rg9', 'web1')).toBeUndefined();
  });
});
