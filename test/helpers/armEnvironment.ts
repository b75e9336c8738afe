/**
 * What the ARM-mode e2e tests share: the app settings that put tidemark on the fake Resource Manager
 * (signed in through its managed identity endpoint, as the function app in Azure is), each region's
 * managed disks keeping their bytes in that region's Azurite with a storage account of its name to
 * import from, and a running source VM on managed disks that already hold data, in a VNet.
 */
import { BlobServiceClient } from '@azure/storage-blob';

import type { ArmFabricStore } from '../../shared/fabric/arm/armFabricStore';
import { MANAGED_DISK_CONTAINER } from '../../shared/fabric/arm/virtualMachines';
import type { FakeArm } from './fakeArm';

/** The settings of an app in ARM mode against `fake`. */
export function armModeSettings(fake: FakeArm): Record<string, string> {
  return {
    TIDEMARK_FABRIC: 'arm',
    AZURE_SUBSCRIPTION_ID: fake.subscriptionId,
    TIDEMARK_ARM_ENDPOINT: fake.url,
    IDENTITY_ENDPOINT: `${fake.url}/msi/token`,
    IDENTITY_HEADER: fake.identityHeader,
  };
}

/**
 * Each region's disks and snapshots as page blobs of its own storage (`arm-disks`), and that storage
 * as a storage account of the subscription in the region (failover imports from its blobs).
 */
export async function useRegionStorage(fake: FakeArm, regions: Record<string, string>): Promise<void> {
  for (const [region, connection] of Object.entries(regions)) {
    const container = BlobServiceClient.fromConnectionString(connection).getContainerClient('arm-disks');
    await container.createIfNotExists();
    fake.useDiskStorage(region, container);
    const group = fake.id(`tm-${region}`);
    fake.seed(group, { location: region });
    fake.seed(`${group}/providers/Microsoft.Storage/storageAccounts/${container.accountName}`, {
      location: region,
      kind: 'StorageV2',
      sku: { name: 'Standard_LRS' },
      properties: {},
    });
  }
}

export interface SourceVmSpec {
  resourceGroup: string;
  name: string;
  /** Managed disks in lun order (the first is the Linux OS disk), each holding `data`. */
  disks: { name: string; data: Buffer }[];
}

/**
 * A running VM in `store`'s region on managed disks holding the given data, with a NIC in subnet
 * `app` of VNet `{rg}-vnet` (10.1.0.0/16), made as a user would with Azure's tools. The disks' ids.
 */
export async function seedSourceVm(
  fake: FakeArm,
  store: ArmFabricStore,
  spec: SourceVmSpec,
): Promise<string[]> {
  const { resourceGroup, name, disks } = spec;
  const region = store.region;
  const vnet = `${resourceGroup}-vnet`;
  await store.resourceGroups.put({ name: resourceGroup, region });
  await store.virtualNetworks.put({
    resourceGroup,
    name: vnet,
    region,
    addressSpace: ['10.1.0.0/16'],
    subnets: [{ name: 'app', addressPrefix: '10.1.1.0/24' }],
  });
  await store.networkInterfaces.put({
    resourceGroup,
    name: `${name}-nic`,
    region,
    subnet: { resourceGroup, vnet, subnet: 'app' },
    privateIp: '10.1.1.4',
  });
  const ids: string[] = [];
  for (const [lun, d] of disks.entries()) {
    await fake.seedDisk(region, resourceGroup, d.name, d.data, lun === 0 ? { osType: 'Linux' } : {});
    ids.push(fake.id(resourceGroup, 'Microsoft.Compute/disks', d.name));
  }
  await store.virtualMachines.put({
    resourceGroup,
    name,
    region,
    size: 'Standard_B2s',
    powerState: 'Running',
    nics: [`${name}-nic`],
    disks: disks.map((d, lun) => ({
      name: d.name,
      lun,
      sizeBytes: d.data.length,
      blob: { region, container: MANAGED_DISK_CONTAINER, name: ids[lun]! },
    })),
  });
  return ids;
}
