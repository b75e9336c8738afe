/**
 * disable-replication's activities (orchestrations/disable/*.activities.ts), registered with the
 * Durable app. Each answers with an ActivityOutcome: user errors as values (not retried), system
 * errors thrown (retried by the orchestration). Every one is idempotent: activities run at least once.
 */

import { registerActivity } from './registerActivity';
import { agentStopStatus, stopAgent } from './disable/agent.activities';
import { removeCache } from './disable/cache.activities';
import { removePoints } from './disable/points.activities';
import { checkDisable } from './disable/prerequisites.activities';
import { removeItem } from './disable/protectedItem.activities';
import { removeJournal, removeReplicas } from './disable/replicas.activities';
import { DISABLE_ACTIVITIES as A } from './disable/types';

registerActivity(A.prerequisites, checkDisable);
registerActivity(A.stopAgent, stopAgent);
registerActivity(A.agentStatus, agentStopStatus);
registerActivity(A.removePoints, removePoints);
registerActivity(A.removeReplicas, removeReplicas);
registerActivity(A.removeJournal, removeJournal);
registerActivity(A.removeCache, removeCache);
registerActivity(A.removeItem, removeItem);
