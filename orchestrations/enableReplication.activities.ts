/**
 * enable-replication's activities (orchestrations/enable/*.activities.ts), registered with the
 * Durable app. Each answers with an ActivityOutcome: user errors as values (not retried), system
 * errors thrown (retried by the orchestration). Every one is idempotent: activities run at least once.
 */

import { registerActivity } from './registerActivity';
import { consistencyBarrier, readAgentStatus, writeConfig } from './enable/agent.activities';
import { copyDisk } from './enable/copyDisk.activities';
import { cutFirstPoint, drain } from './enable/points.activities';
import { checkPrerequisites } from './enable/prerequisites.activities';
import {
  enableApply,
  markProtected,
  registerItem,
  setConsistentAfter,
  setInitialReplication,
} from './enable/protectedItem.activities';
import { createReplicas } from './enable/replicas.activities';
import { identifyTarget } from './enable/target.activities';
import { ENABLE_ACTIVITIES as A } from './enable/types';

registerActivity(A.prerequisites, checkPrerequisites);
registerActivity(A.target, identifyTarget);
registerActivity(A.register, registerItem);
registerActivity(A.replicas, createReplicas);
registerActivity(A.agentConfig, writeConfig);
registerActivity(A.agentStatus, readAgentStatus);
registerActivity(A.setState, setInitialReplication);
registerActivity(A.copyDisk, copyDisk);
registerActivity(A.startApply, async (ref: Parameters<typeof enableApply>[0]) => {
  // The copy has ended: the replicas are consistent once every write made until now is applied.
  await setConsistentAfter(ref, () => consistencyBarrier(ref));
  await enableApply(ref);
  return drain(ref);
});
registerActivity(A.firstPoint, cutFirstPoint);
registerActivity(A.protect, markProtected);
