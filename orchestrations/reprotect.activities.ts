/** Reprotect's own activities (the rest are enable replication's, run in the reverse direction). */
import * as df from 'durable-functions';

import { activityOutcome } from '../shared/jobs/activityOutcome';
import { completeReprotect } from './reprotect/complete.activities';
import { reprotectPrerequisites } from './reprotect/prerequisites.activities';
import { seedReplicas } from './reprotect/seed.activities';
import { syncDisk } from './reprotect/syncDisk.activities';
import { REPROTECT_ACTIVITIES as R } from './reprotect/types';

function register<I, O>(name: string, work: (input: I) => Promise<O>): void {
  df.app.activity(name, { handler: (input: unknown) => activityOutcome(() => work(input as I)) });
}

register(R.prerequisites, reprotectPrerequisites);
register(R.seed, seedReplicas);
register(R.syncDisk, syncDisk);
register(R.complete, completeReprotect);
