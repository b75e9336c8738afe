/**
 * enable-replication's activities (orchestrations/enable/*.activities.ts), registered with the
 * Durable app. Each answers with an ActivityOutcome: user errors as values (not retried), system
 * errors thrown (retried by the orchestration). Every one is idempotent: activities run at least once.
 */
import * as df from 'durable-functions';

import { activityOutcome } from '../shared/jobs/activityOutcome';
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

function register<I, O>(name: string, work: (input: I) => Promise<O>): void {
  df.app.activity(name, { handler: (input: unknown) => activityOutcome(() => work(input as I)) });
}

register(A.prerequisites, checkPrerequisites);
register(A.target, identifyTarget);
register(A.register, registerItem);
register(A.replicas, createReplicas);
register(A.agentConfig, writeConfig);
register(A.agentStatus, readAgentStatus);
register(A.setState, setInitialReplication);
register(A.copyDisk, copyDisk);
register(A.startApply, async (ref: Parameters<typeof enableApply>[0]) => {
  // The copy has ended: the replicas are consistent once every write made until now is applied.
  await setConsistentAfter(ref, () => consistencyBarrier(ref));
  await enableApply(ref);
  return drain(ref);
});
register(A.firstPoint, cutFirstPoint);
register(A.protect, markProtected);
