/**
 * Commit-failover's activities (orchestrations/commit/*.activities.ts), registered with the Durable
 * app. Each answers with an ActivityOutcome and is idempotent: activities run at least once.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

import { contextLogger } from '../shared/functionsLogger';
import { activityOutcome } from '../shared/jobs/activityOutcome';
import type { Logger } from '../shared/logger';
import { deleteAllPoints } from './commit/points.activities';
import { checkCommitPrerequisites } from './commit/prerequisites.activities';
import { releaseCommitted, stopSourceReplication } from './commit/replication.activities';
import { COMMIT_ACTIVITIES as A } from './commit/types';

function register<I, O>(name: string, work: (input: I, log: Logger) => Promise<O>): void {
  df.app.activity(name, {
    handler: (input: unknown, context: InvocationContext) =>
      activityOutcome(() => work(input as I, contextLogger(context, { activity: name }))),
  });
}

register(A.prerequisites, checkCommitPrerequisites);
register(A.deletePoints, deleteAllPoints);
register(A.stopReplication, stopSourceReplication);
register(A.release, releaseCommitted);
