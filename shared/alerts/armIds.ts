/**
 * Azure Resource Manager ids as alerts carry them (`alertTargetIDs`, `configurationItems`). Azure
 * compares them case-insensitively and often sends them lower-cased
 * (`/subscriptions/…/resourcegroups/shop-rg/providers/microsoft.compute/virtualmachines/web1`), so the
 * keywords are matched in any case and the names kept as written. tidemark has no subscriptions: a
 * VM is its resource group and name.
 */

export type ArmTarget =
  | { kind: 'vm'; subscription: string; resourceGroup: string; name: string }
  | { kind: 'resourceGroup'; subscription: string; resourceGroup: string }
  | { kind: 'subscription'; subscription: string }
  /** Some other resource (a disk, a workspace, a NIC, ...). */
  | { kind: 'other'; subscription: string; resourceGroup?: string; type: string };

/** The id's meaning; undefined when the text is not an ARM id (`/subscriptions/{id}/...`). */
export function parseArmId(text: string): ArmTarget | undefined {
  const trimmed = text.trim().replace(/\/+$/, '');
  if (!trimmed.startsWith('/')) return undefined;
  const parts = trimmed.slice(1).split('/');
  if (parts.some((p) => p === '')) return undefined;
  const [subscriptions, subscription, resourceGroups, resourceGroup, providers, namespace, type, name] =
    parts;
  if (subscriptions?.toLowerCase() !== 'subscriptions' || !subscription) return undefined;
  if (parts.length === 2) return { kind: 'subscription', subscription };
  if (resourceGroups?.toLowerCase() !== 'resourcegroups' || !resourceGroup) {
    return { kind: 'other', subscription, type: parts.slice(2).join('/') };
  }
  if (parts.length === 4) return { kind: 'resourceGroup', subscription, resourceGroup };
  const isVm =
    parts.length === 8 &&
    providers?.toLowerCase() === 'providers' &&
    namespace?.toLowerCase() === 'microsoft.compute' &&
    type?.toLowerCase() === 'virtualmachines' &&
    name !== undefined;
  if (isVm) return { kind: 'vm', subscription, resourceGroup, name };
  const typeText =
    providers?.toLowerCase() === 'providers' ? parts.slice(5, 7).join('/') : parts.slice(4).join('/');
  return { kind: 'other', subscription, resourceGroup, type: typeText };
}
