/**
 * disable-replication's activities (orchestrations/disable/*.activities.ts), registered with the
 * Durable app. Each answers with an ActivityOutcome: user errors as values (not retried), system
 * errors thrown (retried by the orchestration). Every one is idempotent: activities run at least once.
 */
import * as df from 'durable-functions';

import { activityOutcome } from '../shared/jobs/activityOutcome';
import { agentStopStatus, stopAgent } from './disable/agent.activities';
import { removeCache } from './disable/cache.activities';
import { removePoints } from './disable/points.activities';
import { checkDisable } from './disable/prerequisites.activities';
import { removeItem } from './disable/protectedItem.activities';
import { removeJournal, removeReplicas } from './disable/replicas.activities';
import { DISABLE_ACTIVITIES as A } from './disable/types';

function register<I, O>(name: string, work: (input: I) => Promise<O>): void {
  df.app.activity(name, { handler: (input: unknown) => activityOutcome(() => work(input as I)) });
}

register(A.prerequisites, checkDisable);
register(A.stopAgent, stopAgent);
register(A.agentStatus, agentStopStatus);
register(A.removePoints, removePoints);
register(A.removeReplicas, removeReplicas);
register(A.removeJournal, removeJournal);
register(A.removeCache, removeCache);
register(A.removeItem, removeItem);
