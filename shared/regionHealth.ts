/** Whether each region's storage answers, and how fast: what /api/health reports. */
import { BlobServiceClient } from '@azure/storage-blob';

import type { RegionConfig } from './config';

export interface RegionHealth {
  name: string;
  role: 'source' | 'target';
  reachable: boolean;
  latencyMs?: number;
  error?: string;
}

export async function probeRegion(region: RegionConfig, timeoutMs = 3_000): Promise<RegionHealth> {
  const base = { name: region.name, role: region.role };
  if (!region.connectionString)
    return { ...base, reachable: false, error: 'no storage connection configured' };
  const started = performance.now();
  try {
    const client = BlobServiceClient.fromConnectionString(region.connectionString, {
      retryOptions: { maxTries: 1 },
    });
    await client.getProperties({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return { ...base, reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ...base, reachable: false, error: (err as Error).message.split('\n')[0] };
  }
}
