/**
 * Commit-failover's activities (orchestrations/commit/*.activities.ts), registered with the Durable
 * app. Each answers with an ActivityOutcome and is idempotent: activities run at least once.
 */

import { registerActivity } from './registerActivity';
import { deleteEarlierDisks } from './commit/disks.activities';
import { deleteAllPoints } from './commit/points.activities';
import { checkCommitPrerequisites } from './commit/prerequisites.activities';
import { releaseCommitted, stopSourceReplication } from './commit/replication.activities';
import { COMMIT_ACTIVITIES as A } from './commit/types';

registerActivity(A.prerequisites, checkCommitPrerequisites);
registerActivity(A.deletePoints, deleteAllPoints);
registerActivity(A.deleteEarlierDisks, deleteEarlierDisks);
registerActivity(A.stopReplication, stopSourceReplication);
registerActivity(A.release, releaseCommitted);
