import { app, type InvocationContext } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig, type TidemarkConfig } from '../shared/config';
import { contextLogger } from '../shared/functionsLogger';
import { buildApplier } from '../shared/replication/buildApplier';

let config: TidemarkConfig | undefined;

/** Applies a delta the mobility agent uploaded to the cache (and every consecutive one after it). */
export async function applyDelta(_blob: unknown, context: InvocationContext): Promise<void> {
  // blobTrigger is "cache/{blob name}".
  const name = String(context.triggerMetadata?.blobTrigger ?? '').replace(/^[^/]+\//, '');
  config ??= loadConfig();
  const { applier } = buildApplier(config, { clock: new SystemClock(), logger: contextLogger(context) });
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
