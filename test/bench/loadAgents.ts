/**
 * The load bench's VMs: one process running the mobility agents of many VMs, each with its seeded
 * workload, apart from the host (real agents run on their own VMs). Started by test/bench/load.ts
 * with `fork()`; the spec comes as the first IPC message. Every answer carries its question's `id`:
 *
 *   parent → child                 child → parent
 *   { type: 'start', spec }        { type: 'ready' } once every agent runs (or { type: 'error' })
 *   { type: 'stats' }              { type: 'stats', counts, lastSequence, writes, bytes }
 *   { type: 'stop' }               { type: 'stopped', … the same }, then exits
 *
 * `counts` are the storage requests the agents made since the last answer (storageRequests.ts).
 * By default a VM's disks are in memory and discard their data (`disks: 'null'`): a VM's own disk
 * I/O is not part of the replication pipeline, and with page-blob disks every workload write would
 * also be a Put Page on the source Azurite that holds the cache. The writes still go through the
 * agent's journal and become deltas as they would. `disks: 'azurite'` uses the VM's page-blob disks
 * in the source storage instead.
 */
import path from 'node:path';

import { MobilityAgent } from '../../agent/agent';
import type { BlockDevice } from '../../agent/blockDevice';
import { ReplicatedDisk } from '../../agent/replicatedDisk';
import { VmDisks } from '../../agent/vmDisks';
import type { WorkloadSpec } from '../../agent/workload';
import { silentLogger } from '../../shared/logger';
import { type Endpoint, type RequestCounts, RequestCounter } from './storageRequests';

export interface LoadAgentsSpec {
  sourceConnectionString: string;
  /** Ports of the Azurites, to name the requests counted. */
  endpoints: [number, Endpoint][];
  resourceGroup: string;
  /** Each agent keeps its sequence numbers in a folder under this one. */
  stateRoot: string;
  disks: 'null' | 'azurite';
  /** The VM's disks in lun order (for `disks: 'null'`). */
  diskSizes: { name: string; sizeBytes: number }[];
  configPollIntervalMs?: number;
  vms: { vm: string; workload: WorkloadSpec }[];
}

export type ToAgents = { id: number } & (
  { type: 'start'; spec: LoadAgentsSpec } | { type: 'stats' } | { type: 'stop' }
);

export interface AgentsStats {
  counts: RequestCounts;
  /** Sum over the agents of the last sequence number uploaded (deltas and heartbeats). */
  lastSequence: number;
}

export type FromAgents = { id: number } & (
  { type: 'ready' } | { type: 'error'; message: string } | ({ type: 'stats' | 'stopped' } & AgentsStats)
);

/** A disk that keeps nothing: writes are acknowledged and dropped, reads are zeroes. */
class NullDisk implements BlockDevice {
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}

  async read(_offset: number, length: number): Promise<Buffer> {
    return Buffer.alloc(length);
  }

  async write(): Promise<void> {}

  async writeZeroes(): Promise<void> {}

  async trim(): Promise<void> {}

  async flush(): Promise<void> {}
}

async function main(): Promise<void> {
  const agents: MobilityAgent[] = [];
  let counter: RequestCounter | undefined;
  const send = (message: FromAgents): void => {
    process.send?.(message);
  };
  const stats = (): AgentsStats => ({
    counts: counter?.take() ?? { requests: {}, failures: {} },
    lastSequence: agents.reduce((sum, a) => sum + a.status().lastSequence, 0),
  });

  const start = async (spec: LoadAgentsSpec): Promise<void> => {
    counter = new RequestCounter(new Map(spec.endpoints));
    for (const { vm, workload } of spec.vms) {
      const agent = new MobilityAgent({
        resourceGroup: spec.resourceGroup,
        vm,
        sourceConnectionString: spec.sourceConnectionString,
        stateDir: path.join(spec.stateRoot, vm),
        logger: silentLogger,
        ...(spec.configPollIntervalMs === undefined
          ? {}
          : { configPollIntervalMs: spec.configPollIntervalMs }),
        workload,
        ...(spec.disks === 'null'
          ? {
              openDisks: async () =>
                new VmDisks(
                  spec.diskSizes.map((d, lun) => new ReplicatedDisk(lun, new NullDisk(d.name, d.sizeBytes))),
                ),
            }
          : {}),
      });
      await agent.start();
      agents.push(agent);
    }
  };

  process.on('message', (message: ToAgents) => {
    if (message.type === 'start') {
      start(message.spec).then(
        () => send({ id: message.id, type: 'ready' }),
        (err: unknown) =>
          send({ id: message.id, type: 'error', message: (err as Error)?.stack ?? String(err) }),
      );
    } else if (message.type === 'stats') {
      send({ id: message.id, type: 'stats', ...stats() });
    } else if (message.type === 'stop') {
      void Promise.allSettled(agents.map((a) => a.stop())).then(() => {
        send({ id: message.id, type: 'stopped', ...stats() });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 100).unref();
      });
    }
  });
  // The bench went away without stopping us: don't outlive it.
  process.on('disconnect', () => {
    void Promise.allSettled(agents.map((a) => a.stop())).then(() => process.exit(0));
  });
}

if (require.main === module) void main();
