/**
 * Resource groups across regions. In Azure a group's name is unique in the subscription; locally each
 * region keeps its own fabric, so tidemark keeps a group in one region and refuses the same name in
 * another (Site Recovery puts failed-over VMs in a target group of their own, `<group>-asr`).
 */
import { isTidemarkError, TidemarkError } from '../errors';
import { checkName } from './names';
import type { RegionalFabric } from './regionalFabric';
import type { ResourceGroup, Tags } from './types';

/** The group called `name` (any case) in whichever region holds it. */
export async function findResourceGroup(
  fabric: RegionalFabric,
  name: string,
): Promise<ResourceGroup | undefined> {
  const found = await Promise.all(
    fabric.names().map((region) => fabric.store(region).resourceGroups.get(name)),
  );
  return found.find((g) => g !== undefined);
}

/** Conflict when `name` is a resource group of another region than `region`. */
export async function checkGroupRegion(fabric: RegionalFabric, region: string, name: string): Promise<void> {
  const existing = await findResourceGroup(fabric, name);
  if (existing && existing.region !== fabric.regions.get(region).name) {
    throw new TidemarkError(
      'Conflict',
      `Resource group ${existing.name} is in ${existing.region}; a group holds resources of one region here, and this one is for ${region}.`,
      {
        hint: `Use another resource group for ${region}, e.g. ${existing.name}-asr as Site Recovery names target groups.`,
        details: { resourceGroup: existing.name, region: existing.region },
      },
    );
  }
}

/** The group `name` in `region`, created when absent; Conflict when it is in another region. */
export async function ensureResourceGroup(
  fabric: RegionalFabric,
  region: string,
  name: string,
  tags?: Tags,
): Promise<ResourceGroup> {
  checkName('resourceGroup', name);
  const store = fabric.store(region);
  const existing = await store.resourceGroups.get(name);
  if (existing) return existing;
  await checkGroupRegion(fabric, region, name);
  try {
    return await store.resourceGroups.put({ name, region: store.region, ...(tags ? { tags } : {}) });
  } catch (err) {
    // Created meanwhile by someone else: that is what we wanted.
    const again = isTidemarkError(err, 'Conflict') ? await store.resourceGroups.get(name) : undefined;
    if (again) return again;
    throw err;
  }
}
