/**
 * `tidemark failover start|test|cleanup|commit` and `tidemark reprotect`: the failover workflows
 * (POST …/failover, …/test-failover, …/test-failover-cleanup, …/commit-failover, …/reprotect), each
 * a job.
 */
import type { Command } from 'commander';

import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import { vmPath } from '../apiClient';
import { parseNetwork, parseRecoveryPoint, parseVmRef, type VmRef } from '../args';
import { type CtxFactory, startJob } from './context';
import { waitOption } from './replication';

interface StartOptions {
  recoveryPoint?: RecoveryPointChoice;
  shutdownSource: boolean;
  wait?: boolean;
}

interface TestOptions {
  recoveryPoint?: RecoveryPointChoice;
  network?: string;
  wait?: boolean;
}

const pointHelp = (fallback: string): string =>
  `latest | latestProcessed | latestAppConsistent | a point id (rp-1-42) | an ISO-8601 time (default ${fallback})`;

export function failoverBody(options: StartOptions): Record<string, unknown> {
  return {
    ...(options.recoveryPoint !== undefined ? { recoveryPoint: options.recoveryPoint } : {}),
    ...(options.shutdownSource === false ? { shutdownSource: false } : {}),
  };
}

export function testFailoverBody(options: TestOptions): Record<string, unknown> {
  return {
    ...(options.recoveryPoint !== undefined ? { recoveryPoint: options.recoveryPoint } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
  };
}

export function registerFailover(program: Command, context: CtxFactory): void {
  const failover = program.command('failover').description('fail protected VMs over to the target region');

  failover
    .command('start')
    .description('fail a VM over to the target region (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .option('--recovery-point <point>', pointHelp('latest'), parseRecoveryPoint)
    .option('--no-shutdown-source', 'leave the source VM running (e.g. when its region is down)')
    .addOption(waitOption())
    .action(async (ref: VmRef, options: StartOptions, cmd: Command) => {
      await startJob(context(cmd), vmPath(ref, 'failover'), failoverBody(options), options.wait === true);
    });

  failover
    .command('test')
    .description('test failover: start a copy of the VM in an isolated network (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .option('--recovery-point <point>', pointHelp('latestProcessed'), parseRecoveryPoint)
    .option(
      '--network <vnet>',
      'VNet in the target region for the test VM (default: an isolated one)',
      parseNetwork,
    )
    .addOption(waitOption())
    .action(async (ref: VmRef, options: TestOptions, cmd: Command) => {
      await startJob(
        context(cmd),
        vmPath(ref, 'test-failover'),
        testFailoverBody(options),
        options.wait === true,
      );
    });

  failover
    .command('cleanup')
    .description('clean up a test failover: delete the test VM and what it made (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .addOption(waitOption())
    .action(async (ref: VmRef, options: { wait?: boolean }, cmd: Command) => {
      await startJob(context(cmd), vmPath(ref, 'test-failover-cleanup'), {}, options.wait === true);
    });

  failover
    .command('commit')
    .description('commit a failover: its recovery point can no longer change (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .addOption(waitOption())
    .action(async (ref: VmRef, options: { wait?: boolean }, cmd: Command) => {
      await startJob(context(cmd), vmPath(ref, 'commit-failover'), {}, options.wait === true);
    });

  program
    .command('reprotect')
    .description('reprotect a VM whose failover is committed: replicate it back (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .addOption(waitOption())
    .action(async (ref: VmRef, options: { wait?: boolean }, cmd: Command) => {
      await startJob(context(cmd), vmPath(ref, 'reprotect'), {}, options.wait === true);
    });
}
