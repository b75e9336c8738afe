/**
 * The local fabric of one region, in the `Fabric` and `NetworkMappings` tables of that region's
 * storage account (DESIGN §5). Keys are lower-cased names (Azure compares names case-insensitively);
 * records keep the case they were created with.
 *
 *   Fabric           PartitionKey = resource group   RowKey = `resourceGroup` (the group itself)
 *                                                            `{kind}|{name}`  (a resource in it)
 *   NetworkMappings  PartitionKey = source VNet's group   RowKey = `{source VNet}|{target region}`
 */
import { TableClient } from '@azure/data-tables';

import { TABLES } from '../storageNames';
import type {
  FabricStore,
  GroupedCollection,
  NetworkMappingCollection,
  ResourceGroupCollection,
} from './fabricStore';
import { nameKey } from './names';
import {
  checkAvailabilitySet,
  checkNetworkInterface,
  checkNetworkMapping,
  checkRegion,
  checkResourceGroup,
  checkStorageAccount,
  checkVirtualMachine,
  checkVirtualNetwork,
} from './recordChecks';
import { type RecordKey, type StoredRecord, TableRecords } from './tableRecords';
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

/** Row-key kinds in the Fabric table. */
export const FABRIC_ROW_KINDS = {
  resourceGroup: 'resourceGroup',
  virtualNetwork: 'virtualNetworks',
  networkInterface: 'networkInterfaces',
  availabilitySet: 'availabilitySets',
  storageAccount: 'storageAccounts',
  virtualMachine: 'virtualMachines',
} as const;

function withEtag<T extends { etag?: string }>(record: StoredRecord<T>): T {
  return { ...record.value, etag: record.etag };
}

function withoutEtag<T extends { etag?: string }>(value: T): Omit<T, 'etag'> {
  const { etag: _etag, ...rest } = value;
  return rest;
}

class TableResourceGroups implements ResourceGroupCollection {
  constructor(
    private readonly records: TableRecords,
    private readonly region: string,
  ) {}

  #key(name: string): RecordKey {
    return { partitionKey: nameKey(name), rowKey: FABRIC_ROW_KINDS.resourceGroup };
  }

  async get(name: string): Promise<ResourceGroup | undefined> {
    const record = await this.records.get<ResourceGroup>(this.#key(name));
    return record && withEtag(record);
  }

  async list(): Promise<ResourceGroup[]> {
    const records = await this.records.list<ResourceGroup>({ rowKey: FABRIC_ROW_KINDS.resourceGroup });
    return records.map(withEtag);
  }

  async put(group: ResourceGroup): Promise<ResourceGroup> {
    checkResourceGroup(group);
    checkRegion(this.region, group.region, `Resource group ${group.name}`);
    const value = withoutEtag(group);
    const etag = await this.records.put(
      this.#key(group.name),
      'resource group',
      group.name,
      value,
      group.etag,
    );
    return { ...value, etag };
  }

  delete(name: string, options: { etag?: string } = {}): Promise<boolean> {
    return this.records.delete(this.#key(name), 'resource group', name, options.etag);
  }
}

class TableGroupedCollection<T extends GroupedResource> implements GroupedCollection<T> {
  constructor(
    private readonly records: TableRecords,
    private readonly region: string,
    private readonly kind: string,
    private readonly label: string,
    private readonly check: (resource: T) => void,
  ) {}

  #key(resourceGroup: string, name: string): RecordKey {
    return { partitionKey: nameKey(resourceGroup), rowKey: `${this.kind}|${nameKey(name)}` };
  }

  async get(resourceGroup: string, name: string): Promise<T | undefined> {
    const record = await this.records.get<T>(this.#key(resourceGroup, name));
    return record && withEtag(record);
  }

  async list(resourceGroup?: string): Promise<T[]> {
    const partitionKey = resourceGroup === undefined ? undefined : nameKey(resourceGroup);
    const records = await this.records.list<T>({ partitionKey, rowPrefix: `${this.kind}|` });
    return records.map(withEtag);
  }

  async put(resource: T): Promise<T> {
    this.check(resource);
    checkRegion(this.region, resource.region, `${this.label} ${resource.name}`);
    const value = withoutEtag(resource);
    const key = this.#key(resource.resourceGroup, resource.name);
    const name = `${resource.resourceGroup}/${resource.name}`;
    const etag = await this.records.put(key, this.label, name, value, resource.etag);
    return { ...value, etag } as T;
  }

  delete(resourceGroup: string, name: string, options: { etag?: string } = {}): Promise<boolean> {
    return this.records.delete(
      this.#key(resourceGroup, name),
      this.label,
      `${resourceGroup}/${name}`,
      options.etag,
    );
  }
}

class TableNetworkMappings implements NetworkMappingCollection {
  constructor(
    private readonly records: TableRecords,
    private readonly region: string,
  ) {}

  #key(sourceVnet: VnetRef, targetRegion: string): RecordKey {
    return {
      partitionKey: nameKey(sourceVnet.resourceGroup),
      rowKey: `${nameKey(sourceVnet.name)}|${nameKey(targetRegion)}`,
    };
  }

  #name(sourceVnet: VnetRef, targetRegion: string): string {
    return `${sourceVnet.resourceGroup}/${sourceVnet.name} → ${targetRegion}`;
  }

  async get(sourceVnet: VnetRef, targetRegion: string): Promise<NetworkMapping | undefined> {
    const record = await this.records.get<NetworkMapping>(this.#key(sourceVnet, targetRegion));
    return record && withEtag(record);
  }

  async list(): Promise<NetworkMapping[]> {
    return (await this.records.list<NetworkMapping>({})).map(withEtag);
  }

  async put(mapping: NetworkMapping): Promise<NetworkMapping> {
    checkNetworkMapping(mapping);
    checkRegion(
      this.region,
      mapping.sourceRegion,
      `The source of network mapping ${this.#name(mapping.sourceVnet, mapping.targetRegion)}`,
    );
    const value = withoutEtag(mapping);
    const key = this.#key(mapping.sourceVnet, mapping.targetRegion);
    const etag = await this.records.put(
      key,
      'network mapping',
      this.#name(mapping.sourceVnet, mapping.targetRegion),
      value,
      mapping.etag,
    );
    return { ...value, etag };
  }

  delete(sourceVnet: VnetRef, targetRegion: string, options: { etag?: string } = {}): Promise<boolean> {
    const name = this.#name(sourceVnet, targetRegion);
    return this.records.delete(this.#key(sourceVnet, targetRegion), 'network mapping', name, options.etag);
  }
}

export class TableFabricStore implements FabricStore {
  readonly region: string;
  readonly resourceGroups: ResourceGroupCollection;
  readonly virtualNetworks: GroupedCollection<VirtualNetwork>;
  readonly networkInterfaces: GroupedCollection<NetworkInterface>;
  readonly availabilitySets: GroupedCollection<AvailabilitySet>;
  readonly storageAccounts: GroupedCollection<StorageAccount>;
  readonly virtualMachines: GroupedCollection<VirtualMachine>;
  readonly networkMappings: NetworkMappingCollection;

  constructor(region: string, fabric: TableClient, mappings: TableClient) {
    this.region = nameKey(region);
    const records = new TableRecords(fabric);
    const r = this.region;
    const K = FABRIC_ROW_KINDS;
    this.resourceGroups = new TableResourceGroups(records, r);
    this.virtualNetworks = new TableGroupedCollection(
      records,
      r,
      K.virtualNetwork,
      'virtual network',
      checkVirtualNetwork,
    );
    this.networkInterfaces = new TableGroupedCollection(
      records,
      r,
      K.networkInterface,
      'network interface',
      checkNetworkInterface,
    );
    this.availabilitySets = new TableGroupedCollection(
      records,
      r,
      K.availabilitySet,
      'availability set',
      checkAvailabilitySet,
    );
    this.storageAccounts = new TableGroupedCollection(
      records,
      r,
      K.storageAccount,
      'storage account',
      checkStorageAccount,
    );
    this.virtualMachines = new TableGroupedCollection(
      records,
      r,
      K.virtualMachine,
      'VM',
      checkVirtualMachine,
    );
    this.networkMappings = new TableNetworkMappings(new TableRecords(mappings), r);
  }

  static fromConnectionString(region: string, connectionString: string): TableFabricStore {
    const client = (table: string): TableClient =>
      TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true });
    return new TableFabricStore(region, client(TABLES.fabric), client(TABLES.networkMappings));
  }
}
