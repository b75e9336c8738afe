/**
 * Which protected items an alert names (DESIGN §2.5), and which of them may be failed over. Pure: it
 * reads the alert and a list of items, so the rules are tested without storage.
 *
 * - a VM id (in `alertTargetIDs`, or in `configurationItems` when that holds ARM ids) → that VM;
 * - a resource-group id → every protected item in that resource group;
 * - a region a Service Health alert names ("East US" or "eastus") → every protected item whose
 *   source VM runs there.
 *
 * Names compare case-insensitively, as Azure's do. Only items in a state failover starts from get
 * one; FailedOver is left out on purpose, since an alert must never change the recovery point of a
 * VM that already failed over. Everything else is reported with the reason.
 */
import type { Direction } from '../direction';
import { WORKFLOW_RULES, refusal } from '../jobs/workflowRules';
import type { ProtectedItem, ProtectedItemState } from '../protectedItems';
import { type ArmTarget, parseArmId } from './armIds';
import { distinctRegions, regionKey } from './regionNames';
import type { CommonAlert } from './schema';

export interface CandidateItem {
  item: ProtectedItem;
  direction: Direction;
}

export interface AlertVm {
  resourceGroup: string;
  name: string;
}

export interface SkippedEntry {
  vm?: AlertVm;
  target?: string;
  reason: string;
}

export interface AlertMapping {
  /** Items to fail over, in the order the alert named them. */
  eligible: CandidateItem[];
  skipped: SkippedEntry[];
}

/** The states an alert starts a failover from. */
export const ALERT_FAILOVER_STATES: readonly ProtectedItemState[] = WORKFLOW_RULES.Failover.from.filter(
  (s) => s !== 'FailedOver',
);

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function vmOf(item: ProtectedItem): AlertVm {
  return { resourceGroup: item.resourceGroup, name: item.vm };
}

/** The ARM ids of the alert: every alertTargetID, and the configurationItems that are ids (others are names). */
function targetIds(alert: CommonAlert): string[] {
  const ids = [...alert.alertTargetIDs, ...alert.configurationItems.filter((c) => c.trim().startsWith('/'))];
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = id.trim().replace(/\/+$/, '').toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function matchTarget(target: ArmTarget, items: readonly CandidateItem[]): CandidateItem[] {
  if (target.kind === 'vm') {
    return items.filter(
      (c) => same(c.item.resourceGroup, target.resourceGroup) && same(c.item.vm, target.name),
    );
  }
  if (target.kind === 'resourceGroup')
    return items.filter((c) => same(c.item.resourceGroup, target.resourceGroup));
  return [];
}

function unmatchedReason(target: ArmTarget | undefined, regionAlert: boolean): string | undefined {
  if (!target) return 'Not an Azure resource id.';
  switch (target.kind) {
    case 'vm':
      return `VM ${target.resourceGroup}/${target.name} is not protected.`;
    case 'resourceGroup':
      return `Resource group ${target.resourceGroup} has no protected VM.`;
    case 'subscription':
      // The scope of a Service Health alert: its regions say what is hit.
      return regionAlert
        ? undefined
        : 'A subscription: tidemark fails over VMs named by VM or resource-group id, or by region (Service Health).';
    case 'other':
      return `Not a VM or resource group (${target.type}): tidemark fails over VMs.`;
  }
}

/** Why `item` gets no failover from an alert; undefined when it gets one. */
export function whyNotFailover(item: ProtectedItem): string | undefined {
  const id = `${item.resourceGroup}/${item.vm}`;
  if (item.state === 'FailedOver') {
    const to = item.failover ? ` (to ${item.failover.vm.resourceGroup}/${item.failover.vm.name})` : '';
    return (
      `VM ${id} is already failed over${to}; an alert never changes the recovery point of a failed-over VM. ` +
      'Commit the failover, or change its point from the portal or the CLI.'
    );
  }
  if (ALERT_FAILOVER_STATES.includes(item.state)) return undefined;
  const refused = refusal('Failover', id, item.state);
  return refused ? [refused.message, refused.hint].filter(Boolean).join(' ') : `VM ${id} is ${item.state}.`;
}

const itemKey = (c: CandidateItem): string =>
  `${c.direction}|${c.item.resourceGroup.toLowerCase()}|${c.item.vm.toLowerCase()}`;

/** The items `alert` names among `items`, split into those to fail over and those skipped (with why). */
export function mapAlert(alert: CommonAlert, items: readonly CandidateItem[]): AlertMapping {
  const regions = alert.kind === 'ServiceHealth' ? distinctRegions(alert.regionNames) : [];
  const matched = new Map<string, CandidateItem>();
  const skipped: SkippedEntry[] = [];
  const add = (found: CandidateItem[]): void => {
    for (const c of found) if (!matched.has(itemKey(c))) matched.set(itemKey(c), c);
  };

  for (const id of targetIds(alert)) {
    const target = parseArmId(id);
    const found = target ? matchTarget(target, items) : [];
    if (found.length > 0) add(found);
    else {
      const reason = unmatchedReason(target, regions.length > 0);
      if (reason) skipped.push({ target: id, reason });
    }
  }
  for (const region of regions) {
    const found = items.filter((c) => c.item.sourceVm && regionKey(c.item.sourceVm.region) === region.key);
    if (found.length > 0) add(found);
    else skipped.push({ target: region.name, reason: `No protected VM runs in region ${region.name}.` });
  }
  if (targetIds(alert).length === 0 && regions.length === 0) {
    skipped.push({ reason: 'The alert names no resource (alertTargetIDs is empty) and no region.' });
  }

  const eligible: CandidateItem[] = [];
  for (const c of matched.values()) {
    const reason = whyNotFailover(c.item);
    if (reason) skipped.push({ vm: vmOf(c.item), reason });
    else eligible.push(c);
  }
  return { eligible, skipped };
}
