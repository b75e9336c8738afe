import { app, type InvocationContext, type Timer } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig, type TidemarkConfig } from '../shared/config';
import { DIRECTIONS, directionConfig } from '../shared/direction';
import { ensureError } from '../shared/errors';
import { contextLogger } from '../shared/functionsLogger';
import { buildApplier } from '../shared/replication/buildApplier';
import { cacheCredentialStores, topUpAllCacheCredentials } from '../shared/replication/cacheCredentials';
import { sweepCache } from '../shared/replication/sweep';

let config: TidemarkConfig | undefined;

/**
 * A safety net under the blob triggers: every 30 s, any protected VM whose next delta sits in the
 * cache gets drained, in both directions. Blob events can be lost (Event Grid delivery, host
 * restarts); deltas can't. A region that is down fails only its own direction.
 *
 * The same pass keeps every agent supplied with cache credentials: an agent that has used half of
 * its window of delta signatures gets a new one (shared/replication/cacheCredentials.ts).
 */
export async function sweepCacheTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  config ??= loadConfig();
  const logger = contextLogger(context);
  const clock = new SystemClock();
  for (const direction of DIRECTIONS) {
    const directed = directionConfig(config, direction);
    try {
      const { applier, stores } = buildApplier(directed, { clock, logger, leaseWaitMs: 0 });
      const drained = await sweepCache(stores, applier);
      if (drained.length)
        logger.info('Sweep applied deltas the trigger had not', { direction, vms: drained });
    } catch (err) {
      logger.warn('Sweep of one direction failed', { direction, error: ensureError(err).message });
    }
    try {
      const { stores } = buildApplier(directed, { clock, logger, leaseWaitMs: 0 });
      await topUpAllCacheCredentials(
        cacheCredentialStores(directed),
        await stores.items.list(),
        directed.agentCredentials,
        { clock, logger },
      );
    } catch (err) {
      logger.warn('Renewing agent credentials of one direction failed', {
        direction,
        error: ensureError(err).message,
      });
    }
  }
}

app.timer('sweepCache', { schedule: '*/30 * * * * *', handler: sweepCacheTimer });
