import { app, type InvocationContext } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig, type TidemarkConfig } from '../shared/config';
import { type Direction, directionConfig } from '../shared/direction';
import { contextLogger } from '../shared/functionsLogger';
import { buildApplier } from '../shared/replication/buildApplier';

let config: TidemarkConfig | undefined;

/** Applies a delta the mobility agent uploaded to the cache (and every consecutive one after it). */
async function applyFrom(direction: Direction, blob: unknown, context: InvocationContext): Promise<void> {
  // blobTrigger is "cache/{blob name}".
  const name = String(context.triggerMetadata?.blobTrigger ?? '').replace(/^[^/]+\//, '');
  config ??= loadConfig();
  const { applier } = buildApplier(directionConfig(config, direction), {
    clock: new SystemClock(),
    logger: contextLogger(context),
  });
  const result = await applier.onDelta(name, Buffer.isBuffer(blob) ? blob : undefined);
  context.debug(`applyDelta ${direction} ${name}: ${JSON.stringify(result)}`);
}

export function applyDelta(blob: unknown, context: InvocationContext): Promise<void> {
  return applyFrom('forward', blob, context);
}

/** Deltas of failed-over VMs that reprotect replicates back: their cache is in the target region. */
export function applyDeltaReverse(blob: unknown, context: InvocationContext): Promise<void> {
  return applyFrom('reverse', blob, context);
}

// Only delta blobs: the agent's status blob (cache/{rg}/{vm}/agent.json) sits beside them.
const DELTA_PATH = 'cache/{resourceGroup}/{vm}/{generation}/{sequence}.delta';

app.storageBlob('applyDelta', {
  path: DELTA_PATH,
  connection: 'TIDEMARK_SOURCE_STORAGE',
  source: 'EventGrid',
  handler: applyDelta,
});
app.storageBlob('applyDeltaReverse', {
  path: DELTA_PATH,
  connection: 'TIDEMARK_TARGET_STORAGE',
  source: 'EventGrid',
  handler: applyDeltaReverse,
});
