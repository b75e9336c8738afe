/**
 * Failover's activities (orchestrations/failover/*.activities.ts), registered with the Durable app.
 * Each answers with an ActivityOutcome (user errors as values, system errors thrown and retried) and
 * logs through the invocation's context. Every one is idempotent: activities run at least once.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

import { contextLogger } from '../shared/functionsLogger';
import { activityOutcome } from '../shared/jobs/activityOutcome';
import type { Logger } from '../shared/logger';
import { materializeTargetDisks, resolveFailoverPoint, stopTargetVm } from './failover/disks.activities';
import { ensureTargetNic } from './failover/network.activities';
import { checkFailoverPrerequisites } from './failover/prerequisites.activities';
import { startReplicaVm } from './failover/replicaVm.activities';
import { shutdownSource } from './failover/shutdown.activities';
import { syncLatest } from './failover/sync.activities';
import { FAILOVER_ACTIVITIES as A } from './failover/types';

function register<I, O>(name: string, work: (input: I, log: Logger) => Promise<O>): void {
  df.app.activity(name, {
    handler: (input: unknown, context: InvocationContext) =>
      activityOutcome(() => work(input as I, contextLogger(context, { activity: name }))),
  });
}

register(A.prerequisites, checkFailoverPrerequisites);
register(A.shutdown, shutdownSource);
register(A.sync, syncLatest);
register(A.resolvePoint, resolveFailoverPoint);
register(A.stopTarget, stopTargetVm);
register(A.materialize, materializeTargetDisks);
register(A.nic, ensureTargetNic);
register(A.start, startReplicaVm);
