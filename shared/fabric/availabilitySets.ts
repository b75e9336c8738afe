/** Availability sets, created on demand with Azure's defaults (2 fault domains, 5 update domains). */
import { isTidemarkError } from '../errors';
import type { FabricStore } from './fabricStore';
import type { AvailabilitySet } from './types';

export const DEFAULT_FAULT_DOMAINS = 2;
export const DEFAULT_UPDATE_DOMAINS = 5;

export async function ensureAvailabilitySet(
  store: FabricStore,
  resourceGroup: string,
  name: string,
): Promise<AvailabilitySet> {
  const existing = await store.availabilitySets.get(resourceGroup, name);
  if (existing) return existing;
  try {
    return await store.availabilitySets.put({
      resourceGroup,
      name,
      region: store.region,
      faultDomainCount: DEFAULT_FAULT_DOMAINS,
      updateDomainCount: DEFAULT_UPDATE_DOMAINS,
    });
  } catch (err) {
    const again = isTidemarkError(err, 'Conflict')
      ? await store.availabilitySets.get(resourceGroup, name)
      : undefined;
    if (again) return again;
    throw err;
  }
}
