/**
 * The alert hook's storage and Durable client, for handleAlert: protected items of both directions
 * (forward items in the target region, reverse ones in the source region), the `Alerts` table in
 * target storage, and failover started as every claimed workflow is (startClaimedJob).
 *
 * The source region may be the very region that is down when an alert fires: its store of reverse
 * items is read with a time limit, and when it can't be read the alert goes on with the forward items
 * (the response says so).
 */
import type { DurableClient } from 'durable-functions';

import type { Direction } from '../direction';
import { startClaimedJob } from '../jobs/startClaimedJob';
import type { Logger } from '../logger';
import { workflowServices } from '../workflows/services';
import type { AlertHookDeps } from './handleAlert';
import type { CandidateItem, SkippedEntry } from './mapping';
import { type AlertRecordStore, TableAlertRecordStore } from './records';

/** How long the reverse items' store (in the source region) gets to answer. */
export const REVERSE_LIST_TIMEOUT_MS = 10_000;

let records: AlertRecordStore | undefined;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function listDirection(direction: Direction): Promise<CandidateItem[]> {
  const items = await workflowServices(direction).items.list();
  return items.map((item) => ({ item, direction }));
}

async function listItems(logger: Logger): Promise<{ items: CandidateItem[]; unread: SkippedEntry[] }> {
  const forward = await listDirection('forward');
  const unread: SkippedEntry[] = [];
  let reverse: CandidateItem[] = [];
  try {
    reverse = await withTimeout(listDirection('reverse'), REVERSE_LIST_TIMEOUT_MS, 'The source region');
  } catch (err) {
    const region = workflowServices('reverse').config.target.name;
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    logger.warn('alert: reverse protected items could not be read', { region, error: message });
    unread.push({
      target: region,
      reason: `The protected items replicating back to ${region} (reprotected VMs) could not be read, so they were not considered: ${message}`,
    });
  }
  return { items: [...forward, ...reverse], unread };
}

export function alertHookDeps(client: DurableClient, logger: Logger): AlertHookDeps {
  records ??= TableAlertRecordStore.fromConnectionString(workflowServices('forward').targetConnectionString);
  return {
    listItems: () => listItems(logger),
    startFailover: async ({ item, direction }, recoveryPoint, now) => {
      const job = await startClaimedJob(client, workflowServices(direction).items, {
        kind: 'Failover',
        resourceGroup: item.resourceGroup,
        vm: item.vm,
        direction,
        input: { recoveryPoint, shutdownSource: true },
        now,
      });
      return job.id;
    },
    records,
    logger,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
