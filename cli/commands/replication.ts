/**
 * `tidemark replication enable|disable|show|list` and `tidemark recovery-point list`: protecting VMs
 * (POST …/enable-replication, …/disable-replication) and reading their protected items and recovery
 * points.
 */
import { type Command, Option } from 'commander';

import type { VmDetail, VmSummary } from '../../shared/fabric/vmViews';
import { vmPath } from '../apiClient';
import {
  formatVmRef,
  nameParser,
  parseAppConsistentMinutes,
  parseRetentionHours,
  parseVmRef,
  type VmRef,
} from '../args';
import { CliError, EXIT } from '../errors';
import { protectionDetail, recoveryPointTable, type RecoveryPointRow, replicationListTable } from '../format';
import { type Ctx, type CtxFactory, printJson, startJob } from './context';

export const waitOption = (): Option =>
  new Option('--wait', 'follow the job to its end (steps, progress); exit 3 if it fails');

interface EnableOptions {
  targetResourceGroup?: string;
  targetVnet?: string;
  targetAvailabilitySet?: string;
  retentionHours?: number;
  appConsistentMinutes?: number;
  wait?: boolean;
}

interface WaitOptions {
  wait?: boolean;
}

/** The body of enable-replication: only what was given. */
export function enableBody(options: EnableOptions): Record<string, unknown> {
  const policy: Record<string, number> = {};
  if (options.retentionHours !== undefined) policy.retentionHours = options.retentionHours;
  if (options.appConsistentMinutes !== undefined)
    policy.appConsistentFrequencyMinutes = options.appConsistentMinutes;
  return {
    ...(options.targetResourceGroup ? { targetResourceGroup: options.targetResourceGroup } : {}),
    ...(options.targetVnet ? { targetVnet: options.targetVnet } : {}),
    ...(options.targetAvailabilitySet ? { targetAvailabilitySet: options.targetAvailabilitySet } : {}),
    ...(Object.keys(policy).length > 0 ? { policy } : {}),
  };
}

/** Every recovery point of `vm`, newest first, following nextLink / continuationToken. */
export function listRecoveryPoints(ctx: Ctx, vm: VmRef): Promise<RecoveryPointRow[]> {
  return ctx.client.getAll<RecoveryPointRow>(vmPath(vm, 'recovery-points'), 'recoveryPoints');
}

export function registerReplication(program: Command, context: CtxFactory): void {
  const replication = program
    .command('replication')
    .description('protect VMs: replicate them to the target region');

  replication
    .command('enable')
    .description('enable replication of a running VM (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .option(
      '--target-resource-group <name>',
      'target resource group (default <rg>-asr)',
      nameParser('--target-resource-group', 'resourceGroup', 'shop-rg-asr'),
    )
    .option(
      '--target-vnet <name>',
      'target VNet (default <vnet>-asr, or the mapped one)',
      nameParser('--target-vnet', 'virtualNetwork', 'shop-vnet-asr'),
    )
    .option(
      '--target-availability-set <name>',
      'target availability set (default <avset>-asr)',
      nameParser('--target-availability-set', 'availabilitySet', 'shop-avset-asr'),
    )
    .option(
      '--retention-hours <hours>',
      'keep recovery points this long: 0 to 360 (default 24)',
      parseRetentionHours,
    )
    .option(
      '--app-consistent-minutes <minutes>',
      'app-consistent point frequency: 0 (off, default) or 60 to 720',
      parseAppConsistentMinutes,
    )
    .addOption(waitOption())
    .action(async (ref: VmRef, options: EnableOptions, cmd: Command) => {
      const ctx = context(cmd);
      await startJob(ctx, vmPath(ref, 'enable-replication'), enableBody(options), options.wait === true);
    });

  replication
    .command('disable')
    .description('disable replication: remove the replicas and recovery points (starts a job)')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .addOption(waitOption())
    .action(async (ref: VmRef, options: WaitOptions, cmd: Command) => {
      await startJob(context(cmd), vmPath(ref, 'disable-replication'), {}, options.wait === true);
    });

  replication
    .command('show')
    .description("show a VM's protected item: state, health, RPO, target, policy")
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .action(async (ref: VmRef, _options: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const { body } = await ctx.client.get<VmDetail>(vmPath(ref));
      const item = body.protectedItem;
      if (!item) {
        throw new CliError(
          EXIT.user,
          `Replication is not enabled for VM ${formatVmRef(ref)}.`,
          `Enable it with \`tidemark replication enable ${formatVmRef(ref)}\`.`,
          { code: 'NotProtected' },
        );
      }
      if (ctx.json) printJson(ctx, item);
      else ctx.out.out(protectionDetail(`${body.resourceGroup}/${body.name}`, item, ctx.now()));
    });

  replication
    .command('list')
    .description('list the protected VMs with state, health and RPO')
    .option('--region <region>', 'only VMs of this region')
    .action(async (options: { region?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const query = options.region ? `?region=${encodeURIComponent(options.region)}` : '';
      const vms = await ctx.client.getAll<VmSummary>(`/api/vms${query}`, 'vms');
      if (ctx.json) printJson(ctx, { vms: vms.filter((vm) => vm.protection) });
      else ctx.out.out(replicationListTable(vms));
    });

  program
    .command('recovery-point')
    .description("a protected VM's recovery points")
    .command('list')
    .description('list the recovery points, newest first')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .action(async (ref: VmRef, _options: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const points = await listRecoveryPoints(ctx, ref);
      if (ctx.json) printJson(ctx, { recoveryPoints: points });
      else ctx.out.out(recoveryPointTable(points));
    });
}
