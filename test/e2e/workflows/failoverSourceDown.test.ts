/**
 * Failover while the source region is down (its Azurite stopped), as a disaster has it: the VM can't
 * be shut down (a warning, failover goes on), and `latest` can't drain the cache, so it falls back to
 * the newest point and says so in the job, its result and the item's failover record. Build first
 * (`npm run build`; npm test does it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../../shared/jobs/types';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { checkTools } from '../../helpers/nbdTools';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';
import {
  cutPoint,
  expectPatterns,
  expectStepsInOrder,
  FAILOVER_STEP_NAMES,
  type Pattern,
  replicasHold,
  westusFabric,
  westusNbdPort,
  writePatterns,
} from './failoverHelpers';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const RG = 'shop-rg';
const VM = 'web1';
const TARGET_RG = 'shop-rg-asr';
const [, SHUTDOWN, SYNC] = FAILOVER_STEP_NAMES as [string, string, string];
const A: Pattern[] = [
  ['os', 0x21, 0, MiB],
  ['data', 0x31, 2 * MiB, 128 * 1024],
];

describe.skipIf(tools.skip)(`failover with the source region down${tools.note}`, () => {
  let stack: WorkflowStack;
  let items: TableProtectedItemStore;
  let point: RecoveryPoint;

  async function failover(body: unknown): Promise<Job> {
    const started = await stack.api('POST', `vms/${RG}/${VM}/failover`, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return stack.waitForJob((started.body.job as Job).id, { timeoutMs: 90_000 });
  }

  beforeAll(async () => {
    stack = await startWorkflowStack({ TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *' });
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    await stack.protectVm({
      resourceGroup: RG,
      vm: VM,
      disksMiB: [
        { name: 'os', sizeMiB: 8 },
        { name: 'data', sizeMiB: 4 },
      ],
    });
    await writePatterns((await stack.nbdOf(RG, VM)).port, A);
    await replicasHold(stack.target.connectionString, RG, VM, A);
    point = await cutPoint(
      { source: stack.source.connectionString, target: stack.target.connectionString },
      RG,
      VM,
    );
    await stack.source.stop();
  }, 180_000);

  afterAll(async () => {
    // The source VM's agent tries to ship to the stopped cache for a while before it gives up.
    await stack?.stop();
  }, 120_000);

  it('fails over to latestProcessed, warning that the source VM could not be shut down', async () => {
    const job = await failover({ recoveryPoint: 'latestProcessed' });
    expectStepsInOrder(job, FAILOVER_STEP_NAMES, [SYNC]);
    const shutdown = job.steps.find((s) => s.name === SHUTDOWN)!;
    expect(shutdown.warning).toMatch(
      /^The source VM shop-rg\/web1 in eastus could not be shut down \(eastus does not answer: .+\); failover went on\./,
    );
    expect(job.result).toMatchObject({
      targetVm: { region: 'westus', resourceGroup: TARGET_RG, name: VM },
      recoveryPoint: { id: point.id },
    });
    expect((job.result as { note?: string }).note).toBeUndefined();
    await expectPatterns(await westusNbdPort(stack.target.connectionString, TARGET_RG, VM), A);
    expect(await items.get(RG, VM)).toMatchObject({ state: 'FailedOver', failover: { pointId: point.id } });
  }, 120_000);

  it('changes the point to latest, which falls back to the newest point and says why', async () => {
    const job = await failover({});
    expectStepsInOrder(job, FAILOVER_STEP_NAMES, [SHUTDOWN]);
    const note = (job.result as { note?: string }).note;
    expect(note).toMatch(
      /^"latest" fell back to the newest recovery point already processed \("latestProcessed"\) because the source region eastus does not answer/,
    );
    expect(job.steps.find((s) => s.name === SYNC)!.warning).toBe(note);
    expect(job.result).toMatchObject({ recoveryPoint: { id: point.id } });
    expect(await items.get(RG, VM)).toMatchObject({
      state: 'FailedOver',
      failover: { choice: 'latest', pointId: point.id, note },
    });
    await expectPatterns(await westusNbdPort(stack.target.connectionString, TARGET_RG, VM), A);
    const vms = await westusFabric(stack.target.connectionString).virtualMachines.list(TARGET_RG);
    expect(vms.map((v) => [v.name, v.powerState])).toEqual([[VM, 'Running']]);
  }, 120_000);
});
