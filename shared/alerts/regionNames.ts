/**
 * Region names. Service Health names regions for people ("East US", "UK South", "East US 2"); ARM
 * and tidemark's settings use the programmatic form ("eastus", "uksouth", "eastus2"). For every Azure
 * region the one is the other lower-cased without spaces, so that is the key both are compared by.
 */

/** `East US 2` → `eastus2`; `eastus` stays `eastus`. */
export function regionKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Names that are no region: Service Health says "Global" for events not tied to one. */
const NOT_REGIONS = new Set(['global', 'nonregional', '']);

export interface RegionName {
  /** As the alert wrote it. */
  name: string;
  key: string;
}

/** The distinct real regions of `names`, in order. */
export function distinctRegions(names: readonly string[]): RegionName[] {
  const seen = new Map<string, RegionName>();
  for (const name of names) {
    const key = regionKey(name);
    if (!NOT_REGIONS.has(key) && !seen.has(key)) seen.set(key, { name: name.trim(), key });
  }
  return [...seen.values()];
}
