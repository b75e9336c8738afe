import { app, type InvocationContext, type Timer } from '@azure/functions';

import { SystemClock } from '../shared/clock';
import { loadConfig } from '../shared/config';
import { contextLogger } from '../shared/functionsLogger';
import { runRecoveryPoints } from '../shared/recoveryPoints/run';
import { recoveryPointSchedule } from '../shared/recoveryPoints/settings';
import { recoveryPointStores } from '../shared/recoveryPoints/stores';

let stores: ReturnType<typeof recoveryPointStores> | undefined;

/**
 * Every TIDEMARK_RECOVERY_POINT_SCHEDULE (default every 5 minutes): a crash-consistent recovery point
 * for each replicating VM with something new, retention, RPO and health (docs/recovery-points.md).
 */
export async function recoveryPointsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  stores ??= recoveryPointStores(loadConfig());
  const results = await runRecoveryPoints(stores, {
    clock: new SystemClock(),
    logger: contextLogger(context),
  });
  const cut = results.filter((r) => r.cut === 'cut' || r.cut === 'upgraded').length;
  context.debug(`recoveryPoints: ${results.length} VMs, ${cut} points cut`);
}

app.timer('recoveryPoints', { schedule: recoveryPointSchedule(), handler: recoveryPointsTimer });
