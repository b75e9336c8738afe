/**
 * The fabric's services wired from tidemark's settings: what the VM routes and the local stack use.
 * `TIDEMARK_FABRIC` chooses the fabric: `local` (the default) keeps it in each region's tables;
 * `arm` is Azure Resource Manager (docs/arm-fabric.md).
 */
import type { TidemarkConfig } from '../config';
import { type ProtectedItemStore, TableProtectedItemStore } from '../protectedItems';
import type { ArmFabricOptions } from './arm/armFabric';
import { RegionalFabric } from './regionalFabric';
import { VmService } from './vmService';

export interface FabricServices {
  fabric: RegionalFabric;
  vms: VmService;
  /** The target region's protected items (DESIGN §5); absent when the target has no storage. */
  protectedItems?: ProtectedItemStore;
}

export interface FabricServicesOptions {
  /** For the ARM fabric: a credential, clock, poll interval… instead of the defaults (tests). */
  arm?: ArmFabricOptions;
}

export function fabricServices(config: TidemarkConfig, options: FabricServicesOptions = {}): FabricServices {
  const fabric = RegionalFabric.fromConfig(config, options.arm);
  const target = config.target.connectionString;
  return {
    fabric,
    vms: new VmService(fabric),
    ...(target ? { protectedItems: TableProtectedItemStore.fromConnectionString(target) } : {}),
  };
}
