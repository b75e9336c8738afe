import { deltaBlobName } from '../delta';
import type { ApplierStores, DeltaApplier } from './applier';

/** Drains every applying VM whose next delta is in the cache; returns the VMs that advanced. */
export async function sweepCache(stores: ApplierStores, applier: DeltaApplier): Promise<string[]> {
  const advanced: string[] = [];
  for (const item of await stores.items.list()) {
    if (!item.applyEnabled) continue;
    const next = deltaBlobName({
      resourceGroup: item.resourceGroup,
      vm: item.vm,
      generation: item.generation,
      sequence: item.watermark + 1,
    });
    if (!(await stores.cache.getBlobClient(next).exists())) continue;
    const result = await applier.drain(item.resourceGroup, item.vm);
    if (result.outcome === 'applied') advanced.push(`${item.resourceGroup}/${item.vm}`);
  }
  return advanced;
}
