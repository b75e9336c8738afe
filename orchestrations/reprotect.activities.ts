/** Reprotect's own activities (the rest are enable replication's, run in the reverse direction). */

import { registerActivity } from './registerActivity';
import { completeReprotect } from './reprotect/complete.activities';
import { reprotectPrerequisites } from './reprotect/prerequisites.activities';
import { seedReplicas } from './reprotect/seed.activities';
import { syncDisk } from './reprotect/syncDisk.activities';
import { REPROTECT_ACTIVITIES as R } from './reprotect/types';

registerActivity(R.prerequisites, reprotectPrerequisites);
registerActivity(R.seed, seedReplicas);
registerActivity(R.syncDisk, syncDisk);
registerActivity(R.complete, completeReprotect);
