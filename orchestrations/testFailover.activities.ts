/**
 * Test failover's activities (orchestrations/testFailover/*.activities.ts), registered with the
 * Durable app. Every one checks that the job still holds the item, and is idempotent: activities run
 * at least once.
 */
import { createTestDisks } from './testFailover/disks.activities';
import { createTestNetwork } from './testFailover/network.activities';
import { createTestNic } from './testFailover/nic.activities';
import { checkPrerequisites } from './testFailover/prerequisites.activities';
import { registerActivity as register } from './registerActivity';
import { releaseTestFailedOver } from './testFailover/release.activities';
import { synchronizeLatest } from './testFailover/sync.activities';
import { TEST_FAILOVER_ACTIVITIES as A } from './testFailover/types';
import { startTestVm } from './testFailover/vm.activities';

register(A.prerequisites, checkPrerequisites);
register(A.sync, synchronizeLatest);
register(A.network, createTestNetwork);
register(A.disks, createTestDisks);
register(A.nic, createTestNic);
register(A.vm, startTestVm);
register(A.release, releaseTestFailedOver);
