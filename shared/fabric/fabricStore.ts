/**
 * The fabric of one region, behind one interface: locally a table-backed store in the region's own
 * storage account (tableFabricStore.ts); in Azure, Resource Manager. One store per region.
 *
 * Every `put` is conditional on the record's `etag`: without one it only creates (Conflict when the
 * resource exists, in any case of its name); with one it only replaces the version it names
 * (Conflict when the record changed meanwhile, NotFound when it is gone). `'*'` writes it whatever
 * is there. Names are looked up case-insensitively, as Azure does.
 */
import type {
  AvailabilitySet,
  GroupedResource,
  NetworkInterface,
  NetworkMapping,
  ResourceGroup,
  StorageAccount,
  VirtualMachine,
  VirtualNetwork,
  VnetRef,
} from './types';

export interface DeleteOptions {
  /** Delete only this version; Conflict when the record changed meanwhile. */
  etag?: string;
}

export interface ResourceGroupCollection {
  get(name: string): Promise<ResourceGroup | undefined>;
  list(): Promise<ResourceGroup[]>;
  put(group: ResourceGroup): Promise<ResourceGroup>;
  /** False when there was nothing to delete. Resources in the group are not deleted with it. */
  delete(name: string, options?: DeleteOptions): Promise<boolean>;
}

export interface GroupedCollection<T extends GroupedResource> {
  get(resourceGroup: string, name: string): Promise<T | undefined>;
  /** Every resource of this kind in the region, or in one resource group. */
  list(resourceGroup?: string): Promise<T[]>;
  put(resource: T): Promise<T>;
  delete(resourceGroup: string, name: string, options?: DeleteOptions): Promise<boolean>;
}

export interface NetworkMappingCollection {
  get(sourceVnet: VnetRef, targetRegion: string): Promise<NetworkMapping | undefined>;
  list(): Promise<NetworkMapping[]>;
  /** The mapping's sourceRegion must be the store's region (create the reverse one in the other store). */
  put(mapping: NetworkMapping): Promise<NetworkMapping>;
  delete(sourceVnet: VnetRef, targetRegion: string, options?: DeleteOptions): Promise<boolean>;
}

export interface FabricStore {
  /** The region whose fabric this is; every record put here must be in it. */
  readonly region: string;
  readonly resourceGroups: ResourceGroupCollection;
  readonly virtualNetworks: GroupedCollection<VirtualNetwork>;
  readonly networkInterfaces: GroupedCollection<NetworkInterface>;
  readonly availabilitySets: GroupedCollection<AvailabilitySet>;
  readonly storageAccounts: GroupedCollection<StorageAccount>;
  readonly virtualMachines: GroupedCollection<VirtualMachine>;
  readonly networkMappings: NetworkMappingCollection;
}
