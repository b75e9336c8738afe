/**
 * The protected item of a VM, in whichever direction it replicates: forward items (VMs of the source
 * region) live in the target region's table, reverse ones (failed-over VMs that reprotect replicates
 * back) in the source region's. The forward table is asked first, so a VM protected forward is found
 * while the source region is down.
 */
import type { Direction } from '../direction';
import type { ProtectedItem } from '../protectedItems';
import { workflowServices } from './services';

export interface FoundItem {
  item: ProtectedItem;
  direction: Direction;
}

export async function findProtectedItem(resourceGroup: string, vm: string): Promise<FoundItem | undefined> {
  for (const direction of ['forward', 'reverse'] as const) {
    const item = await workflowServices(direction).items.get(resourceGroup, vm);
    if (item) return { item, direction };
  }
  return undefined;
}
