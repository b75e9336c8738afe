/**
 * The local VM runner against a fake fabric and fake agents: one agent per Running VM, stopped when
 * the VM stops or goes, restarted when its disks change, retried with back-off when it fails to start,
 * and its endpoint published only while it runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AgentLaunch, type RunnableAgent, VmRunner } from '../../../local/vmRunner';
import { ManualClock } from '../../../shared/clock';
import type { AgentEndpoint, AgentEndpointStore } from '../../../shared/fabric/agentEndpoints';
import type { FabricStore } from '../../../shared/fabric/fabricStore';
import type { PowerState, VirtualMachine } from '../../../shared/fabric/types';
import { RecordingLogger } from '../../../shared/logger';
import { waitFor } from '../../helpers/waitFor';

class FakeAgent implements RunnableAgent {
  started = false;
  stopped = false;
  constructor(
    readonly launch: AgentLaunch,
    private readonly port: number,
    private readonly fail?: string,
  ) {}
  async start(): Promise<void> {
    if (this.fail) throw new Error(this.fail);
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  status(): { nbd: { host: string; port: number; exports: string[] } } {
    return { nbd: { host: this.launch.nbd.host, port: this.port, exports: ['os', 'data'] } };
  }
}

class MemoryEndpoints implements AgentEndpointStore {
  readonly rows = new Map<string, AgentEndpoint>();
  async get(rg: string, vm: string): Promise<AgentEndpoint | undefined> {
    return this.rows.get(`${rg}/${vm}`.toLowerCase());
  }
  async list(): Promise<AgentEndpoint[]> {
    return [...this.rows.values()];
  }
  async put(e: AgentEndpoint): Promise<void> {
    this.rows.set(`${e.resourceGroup}/${e.vm}`.toLowerCase(), e);
  }
  async delete(rg: string, vm: string): Promise<void> {
    this.rows.delete(`${rg}/${vm}`.toLowerCase());
  }
}

function vm(name: string, powerState: PowerState, disks = ['os', 'data']): VirtualMachine {
  return {
    resourceGroup: 'rg',
    name,
    region: 'eastus',
    size: 'Standard_B1s',
    powerState,
    nics: [`${name}-nic`],
    disks: disks.map((d, lun) => ({
      name: d,
      lun,
      sizeBytes: 1 << 20,
      blob: { region: 'eastus', container: 'disks', name: `rg/${name}/${d}` },
    })),
  };
}

describe('VmRunner', () => {
  let vms: VirtualMachine[];
  let listFails: boolean;
  let agents: FakeAgent[];
  let failing: Map<string, string>;
  let endpoints: MemoryEndpoints;
  let clock: ManualClock;
  let logger: RecordingLogger;
  let stateRoot: string;
  let runner: VmRunner;

  beforeEach(() => {
    vms = [];
    listFails = false;
    agents = [];
    failing = new Map();
    endpoints = new MemoryEndpoints();
    clock = new ManualClock();
    logger = new RecordingLogger();
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-runner-'));
    const store = {
      virtualMachines: {
        list: async () => {
          if (listFails) throw new Error('connect ECONNREFUSED');
          return vms.map((v) => ({ ...v }));
        },
      },
    } as unknown as Pick<FabricStore, 'virtualMachines'>;
    let nextPort = 20000;
    runner = new VmRunner({
      workloadFor: (v) => (v.name === 'busy1' ? { pattern: 'hotspot', rateMBps: 0.1, seed: 1 } : undefined),
      region: 'eastus',
      connectionString: 'UseDevelopmentStorage=true',
      store,
      endpoints,
      stateRoot,
      logger,
      clock,
      createAgent: (launch) => {
        const agent = new FakeAgent(launch, nextPort++, failing.get(launch.vm));
        agents.push(agent);
        return agent;
      },
    });
  });

  afterEach(async () => {
    await runner.stop();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  const live = (): string[] =>
    agents
      .filter((a) => a.started && !a.stopped)
      .map((a) => a.launch.vm)
      .sort();

  it('runs one agent per Running VM and publishes where it serves', async () => {
    vms = [vm('web1', 'Running'), vm('db1', 'Running'), vm('off1', 'Stopped'), vm('off2', 'Deallocated')];
    await runner.start();
    expect(live()).toEqual(['db1', 'web1']);
    expect(agents[0]!.launch).toMatchObject({
      resourceGroup: 'rg',
      connectionString: 'UseDevelopmentStorage=true',
      nbd: { host: '127.0.0.1', port: 0 },
    });
    expect(agents.map((a) => a.launch.stateDir).sort()).toEqual([
      path.join(stateRoot, 'rg', 'db1'),
      path.join(stateRoot, 'rg', 'web1'),
    ]);
    expect(await endpoints.get('rg', 'web1')).toMatchObject({ host: '127.0.0.1', exports: ['os', 'data'] });
    expect(
      runner
        .running()
        .map((r) => r.vm)
        .sort(),
    ).toEqual(['db1', 'web1']);
    await runner.reconcile();
    expect(agents).toHaveLength(2);
  });

  it('hands a VM’s workload to its agent', async () => {
    vms = [vm('busy1', 'Running'), vm('idle1', 'Running')];
    await runner.start();
    const byVm = Object.fromEntries(agents.map((a) => [a.launch.vm, a.launch.workload]));
    expect(byVm).toEqual({ busy1: { pattern: 'hotspot', rateMBps: 0.1, seed: 1 }, idle1: undefined });
  });

  it('stops the agent when the VM stops, is deallocated or deleted', async () => {
    vms = [vm('a', 'Running'), vm('b', 'Running'), vm('c', 'Running')];
    await runner.start();
    vms = [vm('a', 'Stopped'), vm('b', 'Deallocated')];
    await runner.reconcile();
    expect(live()).toEqual([]);
    expect(agents.every((a) => a.stopped)).toBe(true);
    expect(await endpoints.list()).toEqual([]);
    expect(logger.records.filter((r) => r.msg === 'VM agent stopped')).toHaveLength(3);
  });

  it('restarts the agent when the VM’s disks change', async () => {
    vms = [vm('web1', 'Running', ['os'])];
    await runner.start();
    vms = [vm('web1', 'Running', ['os', 'data'])];
    await runner.reconcile();
    expect(agents).toHaveLength(2);
    expect(agents[0]!.stopped).toBe(true);
    expect(live()).toEqual(['web1']);
  });

  it('reconciles on every poll of its clock', async () => {
    await runner.start();
    vms = [vm('web1', 'Running')];
    await clock.advance(1000);
    await waitFor(() => live().length === 1, { what: 'the agent to start on the next poll' });
    vms = [vm('web1', 'Stopped')];
    // The next poll is armed once the pass that started the agent is over.
    await waitFor(() => clock.pendingTimers > 0, { what: 'the next poll to be armed' });
    await clock.advance(1000);
    await waitFor(() => live().length === 0, { what: 'the agent to stop on the next poll' });
  });

  it('asks for the port the VM had last time', async () => {
    vms = [vm('web1', 'Running')];
    await runner.start();
    const port = Number(fs.readFileSync(path.join(stateRoot, 'rg', 'web1', 'nbd-port'), 'utf8'));
    expect(port).toBe(agents[0]!.status().nbd.port);
    vms = [];
    await runner.reconcile();
    vms = [vm('web1', 'Running')];
    await runner.reconcile();
    expect(agents[1]!.launch.nbd.port).toBe(port);
  });

  it('retries an agent that fails to start, with back-off, logging the error once', async () => {
    failing.set('web1', 'VM rg/web1 has no disks');
    vms = [vm('web1', 'Running')];
    await runner.start();
    await runner.reconcile();
    expect(agents).toHaveLength(1);
    await clock.advance(2000);
    await runner.reconcile();
    expect(agents).toHaveLength(2);
    await clock.advance(2000);
    await runner.reconcile();
    expect(agents).toHaveLength(2);
    expect(logger.records.filter((r) => r.msg === 'Cannot start the VM agent; retrying')).toHaveLength(1);
    failing.delete('web1');
    await clock.advance(2000);
    await runner.reconcile();
    expect(live()).toEqual(['web1']);
  });

  it('keeps agents running while the fabric cannot be read', async () => {
    vms = [vm('web1', 'Running')];
    await runner.start();
    listFails = true;
    await runner.reconcile();
    await runner.reconcile();
    expect(live()).toEqual(['web1']);
    expect(logger.records.filter((r) => r.msg.startsWith('Cannot read the fabric'))).toHaveLength(1);
  });

  it('drops endpoints no agent of its own is behind, and stops everything on stop()', async () => {
    await endpoints.put({
      resourceGroup: 'rg',
      vm: 'ghost',
      host: '127.0.0.1',
      port: 1,
      exports: [],
      updatedAt: '',
    });
    vms = [vm('web1', 'Running')];
    await runner.start();
    expect((await endpoints.list()).map((e) => e.vm)).toEqual(['web1']);
    await runner.stop();
    expect(live()).toEqual([]);
    expect(await endpoints.list()).toEqual([]);
  });
});
