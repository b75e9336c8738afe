/**
 * `extensions.durableTask` of host.json, validated with the Azure Storage provider's defaults
 * (EXT DurableTaskOptions / AzureStorageOptions): hub name (with %Setting% references, default
 * WEBSITE_SITE_NAME or TestHubName), storage connection, partitions, batch sizes, visibility
 * timeouts, polling interval and the two concurrency limits (10 x cores each).
 */
import os from 'node:os';

import { z } from 'zod';

import type { Logger } from '../../shared/logger';
import { extensionSection, type HostJson } from '../hostJson';
import type { Settings } from '../settings';
import { parseTimeSpan } from '../timeSpan';
import { sanitizeHubName } from './hubNames';

const timeSpan = z.string().refine((v) => {
  try {
    return parseTimeSpan(v, '') >= 0;
  } catch {
    return false;
  }
}, 'must be a TimeSpan such as "00:05:00"');

/** .NET configuration keys match in any casing: map them to the names the schema uses. */
function canonicalKeys(names: readonly string[]) {
  return (value: unknown): unknown => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[names.find((n) => n.toLowerCase() === key.toLowerCase()) ?? key] = v;
    }
    return out;
  };
}

const storageProviderShape = z
  .object({
    connectionName: z.string().min(1).optional(),
    connectionStringName: z.string().min(1).optional(),
    partitionCount: z.number().int().min(1).max(16).default(4),
    controlQueueBatchSize: z.number().int().min(1).max(32).default(32),
    controlQueueVisibilityTimeout: timeSpan.default('00:05:00'),
    workItemQueueVisibilityTimeout: timeSpan.default('00:05:00'),
    maxQueuePollingInterval: timeSpan.default('00:00:30'),
  })
  .loose();
const storageProviderSchema = z.preprocess(
  canonicalKeys(Object.keys(storageProviderShape.shape)),
  storageProviderShape,
);

const defaultConcurrency = (): number => 10 * Math.max(1, os.cpus().length);

const durableTaskShape = z
  .object({
    hubName: z.string().min(1).optional(),
    storageProvider: storageProviderSchema.default(() => storageProviderShape.parse({})),
    maxConcurrentActivityFunctions: z.number().int().min(1).optional(),
    maxConcurrentOrchestratorFunctions: z.number().int().min(1).optional(),
  })
  .loose();
export const durableTaskSchema = z.preprocess(
  canonicalKeys(Object.keys(durableTaskShape.shape)),
  durableTaskShape,
);

export interface DurableOptions {
  hubName: string;
  /** The setting naming the storage account (a connection name, as bindings use). */
  connectionName: string;
  partitionCount: number;
  controlQueueBatchSize: number;
  controlQueueVisibilityMs: number;
  workItemQueueVisibilityMs: number;
  maxQueuePollingMs: number;
  maxConcurrentActivities: number;
  maxConcurrentOrchestrations: number;
}

export function resolveDurableOptions(
  hostJson: HostJson,
  settings: Settings,
  logger?: Logger,
): DurableOptions {
  const section = extensionSection(hostJson, 'durableTask', durableTaskSchema);
  const sp = section.storageProvider;
  const configured = section.hubName
    ? settings.resolve(section.hubName, 'host.json extensions.durableTask.hubName')
    : (settings.get('WEBSITE_SITE_NAME') ?? 'TestHubName');
  const hubName = sanitizeHubName(configured);
  if (hubName !== configured) {
    logger?.warn('Task hub name sanitised', { configured, hubName });
  }
  return {
    hubName,
    connectionName: sp.connectionName ?? sp.connectionStringName ?? 'AzureWebJobsStorage',
    partitionCount: sp.partitionCount,
    controlQueueBatchSize: sp.controlQueueBatchSize,
    controlQueueVisibilityMs: parseTimeSpan(
      sp.controlQueueVisibilityTimeout,
      'controlQueueVisibilityTimeout',
    ),
    workItemQueueVisibilityMs: parseTimeSpan(
      sp.workItemQueueVisibilityTimeout,
      'workItemQueueVisibilityTimeout',
    ),
    maxQueuePollingMs: parseTimeSpan(sp.maxQueuePollingInterval, 'maxQueuePollingInterval'),
    maxConcurrentActivities: section.maxConcurrentActivityFunctions ?? defaultConcurrency(),
    maxConcurrentOrchestrations: section.maxConcurrentOrchestratorFunctions ?? defaultConcurrency(),
  };
}
