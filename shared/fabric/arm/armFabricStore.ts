/**
 * The fabric of one region of one Azure subscription, in Azure Resource Manager: the FabricStore
 * interface (fabricStore.ts) over ARM's resource groups, virtual networks, NICs, availability sets,
 * storage accounts and VMs, network mappings as tags on source VNets, managed disks for failover, and
 * snapshots and access grants (SAS URLs) to read managed disks.
 * What maps to what, the roles it needs and its limits: docs/arm-fabric.md.
 */
import type {
  FabricStore,
  GroupedCollection,
  NetworkMappingCollection,
  ResourceGroupCollection,
} from '../fabricStore';
import type { AvailabilitySet, NetworkInterface, StorageAccount, VirtualNetwork } from '../types';
import type { ArmClient } from './armClient';
import { normalizeLocation } from './armIds';
import type { ArmContext } from './armRecords';
import { ArmAvailabilitySets } from './availabilitySets';
import { type DiskAccessLevel, grantAccess, revokeAccess } from './diskAccessGrants';
import { type ManagedDisk, type ManagedDiskOptions, ManagedDisks } from './managedDisks';
import { ArmNetworkInterfaces } from './networkInterfaces';
import { ArmNetworkMappings } from './networkMappings';
import { ArmResourceGroups } from './resourceGroups';
import { ManagedSnapshots } from './snapshots';
import { ArmStorageAccounts } from './storageAccounts';
import { ArmVirtualMachines } from './virtualMachines';
import { ArmVirtualNetworks } from './virtualNetworks';

export class ArmFabricStore implements FabricStore {
  readonly region: string;
  readonly subscriptionId: string;
  readonly resourceGroups: ResourceGroupCollection;
  readonly virtualNetworks: GroupedCollection<VirtualNetwork>;
  readonly networkInterfaces: GroupedCollection<NetworkInterface>;
  readonly availabilitySets: GroupedCollection<AvailabilitySet>;
  readonly storageAccounts: GroupedCollection<StorageAccount>;
  /** Also starts, powers off and deallocates VMs. */
  readonly virtualMachines: ArmVirtualMachines;
  readonly networkMappings: NetworkMappingCollection;
  readonly managedDisks: ManagedDisks;
  readonly snapshots: ManagedSnapshots;
  readonly #ctx: ArmContext;

  constructor(region: string, client: ArmClient, subscriptionId: string) {
    this.region = normalizeLocation(region);
    this.subscriptionId = subscriptionId;
    const ctx: ArmContext = { client, subscriptionId, region: this.region };
    const vnets = new ArmVirtualNetworks(ctx);
    this.resourceGroups = new ArmResourceGroups(ctx);
    this.virtualNetworks = vnets;
    this.networkInterfaces = new ArmNetworkInterfaces(ctx);
    this.availabilitySets = new ArmAvailabilitySets(ctx);
    this.storageAccounts = new ArmStorageAccounts(ctx);
    this.virtualMachines = new ArmVirtualMachines(ctx);
    this.networkMappings = new ArmNetworkMappings(ctx, vnets);
    this.managedDisks = new ManagedDisks(ctx);
    this.snapshots = new ManagedSnapshots(ctx);
    this.#ctx = ctx;
  }

  /**
   * A SAS URL to the bytes of a managed disk or snapshot (a fixed VHD), for `durationSeconds`
   * (diskAccessGrants.ts). A secret: never log it.
   */
  grantAccess(resourceId: string, access: DiskAccessLevel, durationSeconds: number): Promise<string> {
    return grantAccess(this.#ctx, resourceId, access, durationSeconds);
  }

  /** Ends the access grants on a managed disk or snapshot. */
  revokeAccess(resourceId: string): Promise<void> {
    return revokeAccess(this.#ctx, resourceId);
  }

  /** A managed disk imported from a blob (a fixed VHD), for a failed-over VM (managedDisks.ts). */
  createManagedDiskFromBlob(
    region: string,
    resourceGroup: string,
    name: string,
    sourceUri: string,
    storageAccountId: string,
    sizeBytes: number,
    options?: ManagedDiskOptions,
  ): Promise<ManagedDisk> {
    return this.managedDisks.createManagedDiskFromBlob(
      region,
      resourceGroup,
      name,
      sourceUri,
      storageAccountId,
      sizeBytes,
      options,
    );
  }
}
