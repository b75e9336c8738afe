/**
 * Configuration of the blob trigger. host.json `extensions.blobs` carries the two keys the real
 * extension reads (BlobsOptions, with its defaults); the local-only knobs are app settings so the
 * host.json deployed to Azure stays as it is.
 */
import os from 'node:os';

import { z } from 'zod';

import { extensionSection, parseConfig } from '../../hostJson';
import type { HostJson } from '../../hostJson';
import type { Settings } from '../../settings';

export const blobsSectionSchema = z
  .object({
    /** Invocations running at once across all blob-triggered functions (BlobsOptions: 8 × cores). */
    maxDegreeOfParallelism: z
      .number()
      .int()
      .min(1)
      .default(8 * os.availableParallelism()),
    /** Dequeues of a BlobTriggerMessage before it goes to `webjobs-blobtrigger-poison` (default 5). */
    poisonBlobThreshold: z.number().int().min(1).default(5),
  })
  .loose();

export type BlobsSection = z.infer<typeof blobsSectionSchema>;

const localSchema = z.object({
  pollIntervalMs: z.coerce.number().int().min(10).max(600_000).default(250),
  retryDelaySeconds: z.coerce.number().int().min(0).max(3600).default(1),
});

export interface BlobTriggerConfig {
  maxDegreeOfParallelism: number;
  poisonBlobThreshold: number;
  /** Pause between two listings of a watched container. */
  pollIntervalMs: number;
  /** First retry delay after a failure; doubles per attempt, capped at MAX_RETRY_DELAY_SECONDS. */
  retryDelaySeconds: number;
}

export const SETTING_POLL_INTERVAL = 'TIDEMARK_BLOB_POLL_INTERVAL_MS';
export const SETTING_RETRY_DELAY = 'TIDEMARK_BLOB_RETRY_DELAY_SECONDS';
export const MAX_RETRY_DELAY_SECONDS = 60;
/** How long a dequeued BlobTriggerMessage stays invisible; renewed at a third of it while running. */
export const MESSAGE_VISIBILITY_SECONDS = 30;
/** The receipt lease (BlobReceiptManager: 30 s). */
export const RECEIPT_LEASE_SECONDS = 30;
/** Blobs modified up to this long before the newest one seen are looked at again (second rounding). */
export const SCAN_OVERLAP_MS = 2_000;

export function loadBlobTriggerConfig(hostJson: HostJson, settings: Settings): BlobTriggerConfig {
  const section = extensionSection(hostJson, 'blobs', blobsSectionSchema);
  const local = parseConfig(
    localSchema,
    {
      pollIntervalMs: settings.get(SETTING_POLL_INTERVAL) || undefined,
      retryDelaySeconds: settings.get(SETTING_RETRY_DELAY) || undefined,
    },
    `the app settings ${SETTING_POLL_INTERVAL} / ${SETTING_RETRY_DELAY}`,
  );
  return {
    maxDegreeOfParallelism: section.maxDegreeOfParallelism,
    poisonBlobThreshold: section.poisonBlobThreshold,
    ...local,
  };
}

/** Visibility delay before retry number `attempt` (1-based) of a failed message. */
export function retryDelaySeconds(config: BlobTriggerConfig, attempt: number): number {
  if (config.retryDelaySeconds === 0) return 0;
  return Math.min(MAX_RETRY_DELAY_SECONDS, config.retryDelaySeconds * 2 ** Math.max(0, attempt - 1));
}
