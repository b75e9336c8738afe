/** `tidemark vm list|show|create`: the fabric's VMs (GET/PUT /api/vms). */
import type { Command } from 'commander';

import type { VmDetail, VmSummary } from '../../shared/fabric/vmViews';
import { vmPath } from '../apiClient';
import {
  checkVmBody,
  type DiskArg,
  formatVmRef,
  nameParser,
  parseDisk,
  parseVmRef,
  type VmRef,
} from '../args';
import { vmDetail, vmListTable } from '../format';
import { type CtxFactory, printJson } from './context';

interface ListOptions {
  region?: string;
}

interface CreateOptions {
  region: string;
  vnet: string;
  subnet: string;
  size: string;
  disk: DiskArg[];
  availabilitySet?: string;
  stopped?: boolean;
}

export function registerVm(program: Command, context: CtxFactory): void {
  const vm = program.command('vm').description('the VMs of the fabric, in every region');

  vm.command('list')
    .description('list the VMs, source region first, with their replication summary (every page)')
    .option('--region <region>', 'only this region (e.g. eastus)')
    .action(async (options: ListOptions, cmd: Command) => {
      const ctx = context(cmd);
      const query = options.region ? `?region=${encodeURIComponent(options.region)}` : '';
      const vms = await ctx.client.getAll<VmSummary>(`/api/vms${query}`, 'vms');
      if (ctx.json) printJson(ctx, { vms });
      else ctx.out.out(vmListTable(vms));
    });

  vm.command('show')
    .description('show a VM: NICs, disks, NBD endpoint, replication')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .action(async (ref: VmRef, _options: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const { body } = await ctx.client.get<VmDetail>(vmPath(ref));
      if (ctx.json) printJson(ctx, body);
      else ctx.out.out(vmDetail(body, ctx.now()));
    });

  vm.command('create')
    .description('create a VM (or update it: add disks, change size or power state), like az vm create')
    .argument('<rg/vm>', 'the VM: RESOURCE_GROUP/NAME', parseVmRef)
    .requiredOption('--region <region>', 'its region, e.g. eastus')
    .requiredOption(
      '--vnet <name>',
      'its virtual network (created with 10.0.0.0/16 when missing)',
      nameParser('--vnet', 'virtualNetwork', 'shop-vnet'),
    )
    .requiredOption(
      '--subnet <name>',
      'its subnet (created when missing)',
      nameParser('--subnet', 'subnet', 'front'),
    )
    .requiredOption('--size <size>', 'an Azure VM size, e.g. Standard_B1s')
    .requiredOption(
      '--disk <name:sizeGiB>',
      'a disk, repeatable; the first is the OS disk (e.g. --disk os:0.25 --disk data:0.125)',
      parseDisk,
    )
    .option(
      '--availability-set <name>',
      'its availability set (created when missing)',
      nameParser('--availability-set', 'availabilitySet', 'shop-avset'),
    )
    .option('--stopped', 'create it stopped (default: running)')
    .action(async (ref: VmRef, options: CreateOptions, cmd: Command) => {
      const body = checkVmBody({
        region: options.region,
        vnet: options.vnet,
        subnet: options.subnet,
        size: options.size,
        ...(options.availabilitySet ? { availabilitySet: options.availabilitySet } : {}),
        disks: options.disk,
        ...(options.stopped ? { powerState: 'Stopped' as const } : {}),
      });
      const ctx = context(cmd);
      const answer = await ctx.client.put<VmDetail>(vmPath(ref), body);
      if (ctx.json) return printJson(ctx, answer.body);
      ctx.out.out(
        `${answer.status === 201 ? 'Created' : 'Updated'} VM ${formatVmRef(ref)}.\n\n${vmDetail(answer.body, ctx.now())}`,
      );
    });
}
