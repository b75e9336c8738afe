/**
 * Failover's activities (orchestrations/failover/*.activities.ts), registered with the Durable app.
 * Each answers with an ActivityOutcome (user errors as values, system errors thrown and retried) and
 * logs through the invocation's context. Every one is idempotent: activities run at least once.
 */

import { registerActivity } from './registerActivity';
import { materializeTargetDisks, resolveFailoverPoint, stopTargetVm } from './failover/disks.activities';
import { ensureTargetNic } from './failover/network.activities';
import { checkFailoverPrerequisites } from './failover/prerequisites.activities';
import { startReplicaVm } from './failover/replicaVm.activities';
import { shutdownSource } from './failover/shutdown.activities';
import { syncLatest } from './failover/sync.activities';
import { FAILOVER_ACTIVITIES as A } from './failover/types';

registerActivity(A.prerequisites, checkFailoverPrerequisites);
registerActivity(A.shutdown, shutdownSource);
registerActivity(A.sync, syncLatest);
registerActivity(A.resolvePoint, resolveFailoverPoint);
registerActivity(A.stopTarget, stopTargetVm);
registerActivity(A.materialize, materializeTargetDisks);
registerActivity(A.nic, ensureTargetNic);
registerActivity(A.start, startReplicaVm);
