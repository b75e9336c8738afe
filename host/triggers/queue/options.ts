/**
 * host.json `extensions.queues`, validated with the Azure defaults (Microsoft.Azure.WebJobs.Extensions.
 * Storage.Queues QueuesOptions): batchSize 16 (1..32), newBatchThreshold batchSize/2 × cores,
 * maxPollingInterval 1 min (at least 100 ms), visibilityTimeout 0, maxDequeueCount 5, messageEncoding
 * base64. Durations are TimeSpan strings ("00:00:02") or numbers of milliseconds. Keys are matched
 * case-insensitively, as .NET configuration binding does.
 */
import os from 'node:os';

import { z } from 'zod';

import { extensionSection, type HostJson } from '../../hostJson';
import { parseTimeSpan } from '../../timeSpan';

export const MIN_POLLING_INTERVAL_MS = 100;
export const MAX_BATCH_SIZE = 32;

export interface QueuesOptions {
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    return parseTimeSpan(value, 'TimeSpan');
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is neither a TimeSpan ("hh:mm:ss[.fff]") nor a number of milliseconds`,
    });
    return z.NEVER;
  }
});

const KEYS = [
  'batchSize',
  'newBatchThreshold',
  'maxPollingInterval',
  'visibilityTimeout',
  'maxDequeueCount',
  'messageEncoding',
] as const;

export const queuesSectionSchema = z.preprocess(
  normalizeKeys,
  z
    .object({
      batchSize: z
        .number()
        .int()
        .min(1, 'batchSize must be at least 1')
        .max(MAX_BATCH_SIZE, `batchSize must be at most ${MAX_BATCH_SIZE}`)
        .default(16),
      newBatchThreshold: z.number().int().min(0, 'newBatchThreshold must not be negative').optional(),
      maxPollingInterval: duration
        .pipe(
          z
            .number()
            .min(
              MIN_POLLING_INTERVAL_MS,
              `maxPollingInterval must be at least ${MIN_POLLING_INTERVAL_MS} ms`,
            ),
        )
        .default(60_000),
      visibilityTimeout: duration
        .pipe(z.number().min(0, 'visibilityTimeout must not be negative'))
        .default(0),
      maxDequeueCount: z.number().int().min(1, 'maxDequeueCount must be at least 1').default(5),
      messageEncoding: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(['base64', 'none']))
        .default('base64'),
    })
    .loose(),
);

/** Maps `BatchSize`, `batchsize` ... onto the documented camelCase keys (later spellings win). */
function normalizeKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const known = KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
    out[known ?? key] = v;
  }
  return out;
}

export function parseQueuesOptions(
  section: z.infer<typeof queuesSectionSchema>,
  cores = os.availableParallelism(),
): QueuesOptions {
  return {
    batchSize: section.batchSize,
    newBatchThreshold: section.newBatchThreshold ?? Math.floor(section.batchSize / 2) * cores,
    maxPollingIntervalMs: section.maxPollingInterval,
    visibilityTimeoutMs: section.visibilityTimeout,
    maxDequeueCount: section.maxDequeueCount,
    messageEncoding: section.messageEncoding,
  };
}

const cache = new WeakMap<HostJson, QueuesOptions>();

/** The validated queue options of a host; throws TidemarkError('InvalidConfig') on a bad section. */
export function queuesOptions(hostJson: HostJson): QueuesOptions {
  let options = cache.get(hostJson);
  if (!options) {
    options = parseQueuesOptions(extensionSection(hostJson, 'queues', queuesSectionSchema));
    cache.set(hostJson, options);
  }
  return options;
}
