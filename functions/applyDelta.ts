import { app, type InvocationContext } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig } from '../shared/config';
import { contextLogger } from '../shared/functionsLogger';
import { DeltaApplier } from '../shared/replication/applier';
import { applierStores } from '../shared/replication/stores';

let stores: ReturnType<typeof applierStores> | undefined;

/** Applies a delta the mobility agent uploaded to the cache (and every consecutive one after it). */
export async function applyDelta(_blob: unknown, context: InvocationContext): Promise<void> {
  // blobTrigger is "cache/{blob name}".
  const name = String(context.triggerMetadata?.blobTrigger ?? '').replace(/^[^/]+\//, '');
  stores ??= applierStores(loadConfig());
  const applier = new DeltaApplier(stores, { clock: new SystemClock(), logger: contextLogger(context) });
  const result = await applier.onDelta(name);
  context.debug(`applyDelta ${name}: ${JSON.stringify(result)}`);
}

app.storageBlob('applyDelta', {
  // Only delta blobs: the agent's status blob (cache/{rg}/{vm}/agent.json) sits beside them.
  path: 'cache/{resourceGroup}/{vm}/{generation}/{sequence}.delta',
  connection: 'TIDEMARK_SOURCE_STORAGE',
  source: 'EventGrid',
  handler: applyDelta,
});
