/** One VM runner per region of the local stack, started and stopped together. */
import path from 'node:path';

import type { FabricServices } from '../shared/fabric/services';
import type { Logger } from '../shared/logger';
import { VmRunner, type VmRunnerOptions } from './vmRunner';

export interface VmRunners {
  runners: VmRunner[];
  stop(): Promise<void>;
}

export async function startVmRunners(
  services: FabricServices,
  options: { dataDir: string; logger: Logger } & Partial<
    Pick<VmRunnerOptions, 'clock' | 'pollIntervalMs' | 'agentOptions' | 'workloadFor'>
  >,
): Promise<VmRunners> {
  const { fabric } = services;
  const runners = fabric.regions.all().map(
    (region) =>
      new VmRunner({
        region: region.name,
        connectionString: region.connectionString,
        store: fabric.store(region.name),
        endpoints: fabric.endpoints(region.name),
        stateRoot: path.join(options.dataDir, 'agents'),
        logger: options.logger,
        clock: options.clock,
        pollIntervalMs: options.pollIntervalMs,
        agentOptions: options.agentOptions,
        workloadFor: options.workloadFor,
      }),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(runners.map((r) => r.stop()));
  };
  try {
    await Promise.all(runners.map((r) => r.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { runners, stop };
}
