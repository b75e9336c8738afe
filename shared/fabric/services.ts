/** The fabric's services wired from tidemark's settings: what the VM routes and the local stack use. */
import type { TidemarkConfig } from '../config';
import { type ProtectedItemStore, TableProtectedItemStore } from '../protectedItems';
import { Regions } from '../regions';
import { RegionalFabric } from './regionalFabric';
import { VmService } from './vmService';

export interface FabricServices {
  fabric: RegionalFabric;
  vms: VmService;
  /** The target region's protected items (DESIGN §5); absent when the target has no storage. */
  protectedItems?: ProtectedItemStore;
}

export function fabricServices(config: TidemarkConfig): FabricServices {
  const fabric = new RegionalFabric(new Regions(config));
  const target = config.target.connectionString;
  return {
    fabric,
    vms: new VmService(fabric),
    ...(target ? { protectedItems: TableProtectedItemStore.fromConnectionString(target) } : {}),
  };
}
