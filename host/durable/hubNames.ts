/**
 * Task hub naming, as the Azure Storage provider lays a hub out: `{Hub}Instances` / `{Hub}History`
 * tables, `{hub}-control-NN` queues chosen by FNV-1a of the instance id, `{hub}-workitems`,
 * `{hub}-largemessages`. Hub names are reduced to letters and digits, 3-45 characters.
 */

const MAX_HUB_LENGTH = 45;

/** Letters and digits only, starting with a letter, 3-45 characters (padded with "Hub"). */
export function sanitizeHubName(name: string): string {
  let hub = name.replace(/[^A-Za-z0-9]/g, '');
  if (!/^[A-Za-z]/.test(hub)) hub = `Hub${hub}`;
  while (hub.length < 3) hub += 'Hub';
  return hub.slice(0, MAX_HUB_LENGTH);
}

/** FNV-1a 32-bit over the UTF-8 bytes (DTFx Fnv1aHashHelper). */
export function fnv1a32(text: string): number {
  let hash = 2166136261;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash >>> 0;
}

export function partitionOf(instanceId: string, partitionCount: number): number {
  return fnv1a32(instanceId) % partitionCount;
}

export interface HubResourceNames {
  hub: string;
  instancesTable: string;
  historyTable: string;
  timersTable: string;
  controlQueues: string[];
  workItemQueue: string;
  largeMessagesContainer: string;
}

export function hubResourceNames(hub: string, partitionCount: number): HubResourceNames {
  const lower = hub.toLowerCase();
  return {
    hub,
    instancesTable: `${hub}Instances`,
    historyTable: `${hub}History`,
    timersTable: `${hub}Timers`,
    controlQueues: Array.from(
      { length: partitionCount },
      (_, i) => `${lower}-control-${String(i).padStart(2, '0')}`,
    ),
    workItemQueue: `${lower}-workitems`,
    largeMessagesContainer: `${lower}-largemessages`,
  };
}
