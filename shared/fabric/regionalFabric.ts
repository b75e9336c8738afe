/**
 * The fabric of every known region: one store per region (the fabric of eastus lives in eastus's
 * storage locally), each region's `disks` container, and its published agent endpoints. Clients are
 * made once per region and kept, so functions can hold one RegionalFabric across invocations.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import type { TidemarkConfig } from '../config';
import { type Region, Regions } from '../regions';
import { CONTAINERS } from '../storageNames';
import { type AgentEndpointStore, TableAgentEndpointStore } from './agentEndpoints';
import type { FabricStore } from './fabricStore';
import { TableFabricStore } from './tableFabricStore';

export interface RegionalFabricFactories {
  store?: (region: Region) => FabricStore;
  endpoints?: (region: Region) => AgentEndpointStore;
  disks?: (region: Region) => ContainerClient;
}

interface RegionClients {
  store: FabricStore;
  endpoints: AgentEndpointStore;
  disks: ContainerClient;
}

export class RegionalFabric {
  readonly #clients = new Map<string, RegionClients>();

  constructor(
    readonly regions: Regions,
    private readonly factories: RegionalFabricFactories = {},
  ) {}

  static fromConfig(config: TidemarkConfig): RegionalFabric {
    return new RegionalFabric(new Regions(config));
  }

  #for(name: string): RegionClients {
    const region = this.regions.get(name);
    let clients = this.#clients.get(region.name);
    if (!clients) {
      const f = this.factories;
      clients = {
        store:
          f.store?.(region) ?? TableFabricStore.fromConnectionString(region.name, region.connectionString),
        endpoints:
          f.endpoints?.(region) ?? TableAgentEndpointStore.fromConnectionString(region.connectionString),
        disks:
          f.disks?.(region) ??
          BlobServiceClient.fromConnectionString(region.connectionString).getContainerClient(
            CONTAINERS.disks,
          ),
      };
      this.#clients.set(region.name, clients);
    }
    return clients;
  }

  /** The fabric store of `region`; InvalidArgument listing the known regions when it is unknown. */
  store(region: string): FabricStore {
    return this.#for(region).store;
  }

  endpoints(region: string): AgentEndpointStore {
    return this.#for(region).endpoints;
  }

  /** The `disks` container of the region's storage: page blobs `{rg}/{vm}/{disk}`. */
  disks(region: string): ContainerClient {
    return this.#for(region).disks;
  }

  /** Every region with storage, source first. */
  names(): string[] {
    return this.regions.all().map((r) => r.name);
  }
}
