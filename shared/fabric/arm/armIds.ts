/**
 * ARM resource ids and request paths. An id is
 * `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{child type}/{child}]`;
 * ARM compares every segment case-insensitively, so parsing does too. Locations are compared in
 * ARM's canonical form (`East US` → `eastus`).
 */
import { TidemarkError } from '../../errors';
import { nameKey } from '../names';

export const PROVIDERS = {
  virtualNetworks: 'Microsoft.Network/virtualNetworks',
  networkInterfaces: 'Microsoft.Network/networkInterfaces',
  availabilitySets: 'Microsoft.Compute/availabilitySets',
  virtualMachines: 'Microsoft.Compute/virtualMachines',
  disks: 'Microsoft.Compute/disks',
  snapshots: 'Microsoft.Compute/snapshots',
  storageAccounts: 'Microsoft.Storage/storageAccounts',
} as const;

export type ProviderType = (typeof PROVIDERS)[keyof typeof PROVIDERS];

/** ARM's canonical location: lower case without spaces. */
export function normalizeLocation(location: string | undefined): string {
  return (location ?? '').toLowerCase().replace(/\s+/g, '');
}

export function sameLocation(a: string | undefined, b: string | undefined): boolean {
  return normalizeLocation(a) === normalizeLocation(b);
}

// Ids are used as request paths as they are: names here never hold `/`, `?`, `#` or `%` (names.ts),
// and the URL parser percent-encodes the rest (Unicode group names).
export function subscriptionPath(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}`;
}

export function resourceGroupPath(subscriptionId: string, resourceGroup: string): string {
  return `${subscriptionPath(subscriptionId)}/resourceGroups/${resourceGroup}`;
}

/** The id (and request path) of a resource of `type` in a group. */
export function resourceId(
  subscriptionId: string,
  resourceGroup: string,
  type: ProviderType,
  name: string,
): string {
  return `${resourceGroupPath(subscriptionId, resourceGroup)}/providers/${type}/${name}`;
}

export function subnetId(
  subscriptionId: string,
  ref: { resourceGroup: string; vnet: string; subnet: string },
): string {
  return `${resourceId(subscriptionId, ref.resourceGroup, PROVIDERS.virtualNetworks, ref.vnet)}/subnets/${ref.subnet}`;
}

export interface ParsedId {
  subscriptionId: string;
  resourceGroup: string;
  /** `Namespace/type` as the id spells it. */
  type: string;
  name: string;
  /** Child segments after the name: `[type, name, type, name…]`. */
  children: string[];
}

/** The parts of an ARM resource id; undefined when it is not one of a resource in a group. */
export function parseResourceId(id: string | undefined): ParsedId | undefined {
  if (!id) return undefined;
  const parts = id.split('/').filter((p, i) => i > 0 || p !== '');
  if (parts.length < 8 || parts.length % 2 !== 0) return undefined;
  const [subs, sub, groups, group, providers, namespace, type, name, ...children] = parts;
  if (nameKey(subs!) !== 'subscriptions' || nameKey(groups!) !== 'resourcegroups') return undefined;
  if (nameKey(providers!) !== 'providers') return undefined;
  return { subscriptionId: sub!, resourceGroup: group!, type: `${namespace}/${type}`, name: name!, children };
}

/** Whether `id` is a resource of `type` (any case). */
export function isIdOfType(parsed: ParsedId | undefined, type: ProviderType): parsed is ParsedId {
  return parsed !== undefined && nameKey(parsed.type) === nameKey(type);
}

/** `{resourceGroup, name}` of an id of `type`; InvalidArgument naming `what` when it is not one. */
export function refFromId(
  id: string | undefined,
  type: ProviderType,
  what: string,
): { resourceGroup: string; name: string } {
  const parsed = parseResourceId(id);
  if (!isIdOfType(parsed, type) || parsed.children.length > 0) {
    throw new TidemarkError(
      'InvalidArgument',
      `${what} ${JSON.stringify(id)} is not the id of a ${type} resource.`,
      {
        details: { id, type },
      },
    );
  }
  return { resourceGroup: parsed.resourceGroup, name: parsed.name };
}

/** Lower-cased id, for comparing ids. */
export function idKey(id: string): string {
  return id.toLowerCase().replace(/\/+$/, '');
}
