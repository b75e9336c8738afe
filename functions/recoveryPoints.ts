import { app, type InvocationContext, type Timer } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig, type TidemarkConfig } from '../shared/config';
import { DIRECTIONS, type Direction, directionConfig } from '../shared/direction';
import { ensureError } from '../shared/errors';
import { contextLogger } from '../shared/functionsLogger';
import { runRecoveryPoints } from '../shared/recoveryPoints/run';
import { recoveryPointSchedule } from '../shared/recoveryPoints/settings';
import { type RecoveryPointStores, recoveryPointStores } from '../shared/recoveryPoints/stores';
import { buildApplier } from '../shared/replication/buildApplier';

const stores = new Map<Direction, RecoveryPointStores>();
let config: TidemarkConfig | undefined;

/**
 * Every TIDEMARK_RECOVERY_POINT_SCHEDULE (default every 5 minutes): a crash-consistent recovery point
 * for each replicating VM with something new, retention, RPO and health (docs/recovery-points.md),
 * for forward items and for failed-over VMs replicating back. A region that is down fails only its
 * own direction.
 */
export async function recoveryPointsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const logger = contextLogger(context);
  for (const direction of DIRECTIONS) {
    try {
      config ??= loadConfig();
      let directed = stores.get(direction);
      if (!directed) {
        directed = recoveryPointStores(directionConfig(config, direction));
        stores.set(direction, directed);
      }
      const clock = new SystemClock();
      // Each VM's replicas are brought level with its watermark under the lease before the cut.
      const { catchUp } = buildApplier(directionConfig(config, direction), { clock, logger, leaseWaitMs: 0 });
      const results = await runRecoveryPoints(directed, { clock, logger, catchUp });
      const cut = results.filter((r) => r.cut === 'cut' || r.cut === 'upgraded').length;
      context.debug(`recoveryPoints ${direction}: ${results.length} VMs, ${cut} points cut`);
    } catch (err) {
      logger.warn('Recovery points of one direction failed', { direction, error: ensureError(err).message });
    }
  }
}

app.timer('recoveryPoints', { schedule: recoveryPointSchedule(), handler: recoveryPointsTimer });
