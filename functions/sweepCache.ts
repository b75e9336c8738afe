import { app, type InvocationContext, type Timer } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig, type TidemarkConfig } from '../shared/config';
import { contextLogger } from '../shared/functionsLogger';
import { buildApplier } from '../shared/replication/buildApplier';
import { sweepCache } from '../shared/replication/sweep';

let config: TidemarkConfig | undefined;

/**
 * A safety net under the blob trigger: every 30 s, any protected VM whose next delta sits in the
 * cache gets drained. Blob events can be lost (Event Grid delivery, host restarts); deltas can't.
 */
export async function sweepCacheTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  config ??= loadConfig();
  const logger = contextLogger(context);
  const { applier, stores } = buildApplier(config, { clock: new SystemClock(), logger, leaseWaitMs: 0 });
  const drained = await sweepCache(stores, applier);
  if (drained.length) logger.info('Sweep applied deltas the trigger had not', { vms: drained });
}

app.timer('sweepCache', { schedule: '*/30 * * * * *', handler: sweepCacheTimer });
