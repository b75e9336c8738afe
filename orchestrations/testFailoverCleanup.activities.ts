/**
 * Test failover cleanup's activities (orchestrations/testFailoverCleanup/*.activities.ts), registered
 * with the Durable app. Every one checks that the job still holds the item, and is idempotent: what
 * is gone already is fine.
 */
import { registerActivity as register } from './registerActivity';
import { deleteTestNetwork } from './testFailoverCleanup/network.activities';
import { checkCleanupPrerequisites } from './testFailoverCleanup/prerequisites.activities';
import { releaseCleanedUp } from './testFailoverCleanup/release.activities';
import { CLEANUP_ACTIVITIES as A } from './testFailoverCleanup/types';
import { deleteTestDisks, deleteTestVm, testVmAgentStopped } from './testFailoverCleanup/vm.activities';

register(A.prerequisites, checkCleanupPrerequisites);
register(A.deleteVm, deleteTestVm);
register(A.agentStopped, testVmAgentStopped);
register(A.deleteDisks, deleteTestDisks);
register(A.deleteNetwork, deleteTestNetwork);
register(A.release, releaseCleanedUp);
