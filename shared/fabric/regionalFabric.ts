/**
 * The fabric of every known region: one store per region (the fabric of eastus lives in eastus's
 * storage locally), each region's `disks` container, and its published agent endpoints. Clients are
 * made once per region, when first asked for, and kept, so functions can hold one RegionalFabric
 * across invocations. With `TIDEMARK_FABRIC=arm` the stores are Azure Resource Manager's
 * (arm/armFabric.ts) and `disks` is refused: VMs there have managed disks, which workflows reach
 * through `diskAccess`.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import type { TidemarkConfig } from '../config';
import { type Region, Regions } from '../regions';
import { CONTAINERS } from '../storageNames';
import { type AgentEndpointStore, TableAgentEndpointStore } from './agentEndpoints';
import { type ArmFabricOptions, armFabricFactories } from './arm/armFabric';
import { LocalDiskAccess, type VmDiskAccess } from './diskAccess';
import type { FabricStore } from './fabricStore';
import { TableFabricStore } from './tableFabricStore';

export interface RegionalFabricFactories {
  store?: (region: Region) => FabricStore;
  endpoints?: (region: Region) => AgentEndpointStore;
  disks?: (region: Region) => ContainerClient;
  /** How workflows reach VM disks in `region`; `store` is that region's fabric store. */
  diskAccess?: (region: Region, store: FabricStore) => VmDiskAccess;
}

interface RegionClients {
  region: Region;
  store?: FabricStore;
  endpoints?: AgentEndpointStore;
  disks?: ContainerClient;
  diskAccess?: VmDiskAccess;
}

/** The factories `config.fabric` asks for: none (the local table fabric) or the ARM fabric's. */
export function fabricFactories(config: TidemarkConfig, arm: ArmFabricOptions = {}): RegionalFabricFactories {
  return config.fabric.kind === 'arm' ? armFabricFactories(config, arm) : {};
}

export class RegionalFabric {
  readonly #clients = new Map<string, RegionClients>();

  constructor(
    readonly regions: Regions,
    private readonly factories: RegionalFabricFactories = {},
  ) {}

  /** The fabric `config.fabric` names (local tables, or ARM with `arm`'s injected credential, clock…). */
  static fromConfig(config: TidemarkConfig, arm: ArmFabricOptions = {}): RegionalFabric {
    return new RegionalFabric(new Regions(config), fabricFactories(config, arm));
  }

  #for(name: string): RegionClients {
    const region = this.regions.get(name);
    let clients = this.#clients.get(region.name);
    if (!clients) {
      clients = { region };
      this.#clients.set(region.name, clients);
    }
    return clients;
  }

  /** The fabric store of `region`; InvalidArgument listing the known regions when it is unknown. */
  store(region: string): FabricStore {
    const c = this.#for(region);
    return (c.store ??=
      this.factories.store?.(c.region) ??
      TableFabricStore.fromConnectionString(c.region.name, c.region.connectionString));
  }

  endpoints(region: string): AgentEndpointStore {
    const c = this.#for(region);
    return (c.endpoints ??=
      this.factories.endpoints?.(c.region) ??
      TableAgentEndpointStore.fromConnectionString(c.region.connectionString));
  }

  /**
   * The `disks` container of the region's storage: page blobs `{rg}/{vm}/{disk}`. The ARM fabric
   * has none (its factory throws InvalidConfig saying so).
   */
  disks(region: string): ContainerClient {
    const c = this.#for(region);
    return (c.disks ??=
      this.factories.disks?.(c.region) ??
      BlobServiceClient.fromConnectionString(c.region.connectionString).getContainerClient(CONTAINERS.disks));
  }

  /**
   * How workflows read, write and delete VM disks in `region` (diskAccess.ts): in place in the
   * `disks` container locally, managed disks with the ARM fabric.
   */
  diskAccess(region: string): VmDiskAccess {
    const c = this.#for(region);
    return (c.diskAccess ??=
      this.factories.diskAccess?.(c.region, this.store(region)) ??
      new LocalDiskAccess(c.region.name, this.disks(region)));
  }

  /** Every region with storage, source first. */
  names(): string[] {
    return this.regions.all().map((r) => r.name);
  }
}
