/**
 * The VMs of the local stack: seeds the demo fabric in the source region (only what is absent; a
 * failure is logged, not fatal), starts a VM runner per region (demo-rg/web1's agent runs the demo
 * workload), and says where each VM's disks are served.
 */
import type { WorkloadSpec } from '../agent/workload';
import { loadConfig } from '../shared/config';
import { ensureError } from '../shared/errors';
import { fabricServices } from '../shared/fabric/services';
import { listVmSummaries, type VmSummary } from '../shared/fabric/vmViews';
import type { Logger } from '../shared/logger';
import { demoWorkloadFor, seedDemoFabric } from './demoFabric';
import { startVmRunners } from './vmRunners';

export interface LocalVms {
  /** What to print at start: each VM, where its disks are served, and how to write to one. */
  banner: string;
  /** Stops every agent (each ships what it journaled). */
  stop(): Promise<void>;
}

export interface LocalVmsOptions {
  /** The app settings the host runs with (regions and their storage). */
  settings: Record<string, string>;
  /** The stack's data folder; agents keep their state under `agents/`. */
  dataDir: string;
  sourceRegion: string;
  logger: Logger;
}

export async function startLocalVms(options: LocalVmsOptions): Promise<LocalVms> {
  const { logger, sourceRegion } = options;
  const services = fabricServices(loadConfig(options.settings));
  try {
    await seedDemoFabric(services, sourceRegion, logger);
  } catch (err) {
    logger.warn('Cannot seed the demo fabric; going on without it', { error: ensureError(err).message });
  }
  const workloadFor = demoWorkloadFor(sourceRegion);
  const runners = await startVmRunners(services, { dataDir: options.dataDir, logger, workloadFor });
  const vms = await listVmSummaries({ ...services, now: Date.now() });
  return { banner: banner(vms, workloadFor), stop: () => runners.stop() };
}

function banner(vms: VmSummary[], workloadFor: (vm: VmSummary) => WorkloadSpec | undefined): string {
  const lines = ['VMs:'];
  for (const vm of vms) {
    const id = `${vm.resourceGroup}/${vm.name}`;
    const where = vm.nbd
      ? `nbd://${vm.nbd.host}:${vm.nbd.port}/ (exports: ${vm.nbd.exports.join(', ')})`
      : '';
    lines.push(`  ${vm.region.padEnd(8)} ${id.padEnd(20)} ${vm.powerState.padEnd(11)} ${where}`.trimEnd());
    const workload = vm.nbd ? workloadFor(vm) : undefined;
    if (workload) lines.push(`  ${''.padEnd(29)} writes: ${workload.pattern} at ${workload.rateMBps} MB/s`);
  }
  if (vms.length === 0) lines.push('  (none)');
  const served = vms.find((vm) => vm.nbd);
  if (served?.nbd) {
    const uri = served.nbd.uris[served.nbd.exports.at(-1) ?? ''];
    lines.push(`Write to a VM: qemu-io -f raw ${uri} -c 'write -P 0xab 0 64k'`);
  }
  return `${lines.join('\n')}\n`;
}
