/**
 * The local stack's VM runner: in the local fabric a VM "runs" when its mobility agent runs, serving
 * its disks over NBD. One runner per region watches that region's fabric (a poll every second by
 * default, on an injectable clock) and keeps exactly one agent per Running VM:
 *
 *   Running (new, or disks changed) ──▶ start agent ──▶ publish {host, port, exports}
 *   Stopped / Deallocated / deleted ──▶ stop agent (it ships what it journaled) ──▶ unpublish
 *
 * Each agent has its own state dir `{stateRoot}/{rg}/{vm}` and listens on 127.0.0.1, on the port it
 * had last time when that is free; a VM may come with a built-in write workload its agent runs. An agent that fails to start is retried with back-off; a failed
 * poll of the fabric leaves the running agents as they are.
 */
import path from 'node:path';

import { MobilityAgent, type MobilityAgentOptions } from '../agent/agent';
import type { WorkloadSpec } from '../agent/workload';
import { type Clock, SystemClock } from '../shared/clock';
import { ensureError } from '../shared/errors';
import type { AgentEndpointStore } from '../shared/fabric/agentEndpoints';
import type { FabricStore } from '../shared/fabric/fabricStore';
import { nameKey } from '../shared/fabric/names';
import type { VirtualMachine } from '../shared/fabric/types';
import type { Logger } from '../shared/logger';
import { preferredPort, rememberPort } from './agentPorts';

/** What the runner needs of an agent (MobilityAgent by default; fakes in tests). */
export interface RunnableAgent {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): { nbd: { host: string; port: number; exports: string[] } };
}

export interface AgentLaunch {
  resourceGroup: string;
  vm: string;
  /** The region's storage: the VM's disks and agent config. */
  connectionString: string;
  stateDir: string;
  nbd: { host: string; port: number };
  /** A built-in write workload the agent runs on the VM's disks (agent/workload.ts), if any. */
  workload?: WorkloadSpec;
  logger: Logger;
  clock: Clock;
}

export interface VmRunnerOptions {
  region: string;
  /** The region's storage connection string, handed to each agent. */
  connectionString: string;
  store: Pick<FabricStore, 'virtualMachines'>;
  endpoints: AgentEndpointStore;
  /** Agents' state dirs go under it: `{stateRoot}/{rg}/{vm}`. */
  stateRoot: string;
  logger: Logger;
  clock?: Clock;
  pollIntervalMs?: number;
  nbdHost?: string;
  /** Extra MobilityAgent options (e.g. poll intervals) for the default factory. */
  agentOptions?: Partial<MobilityAgentOptions>;
  /** The write workload a VM's agent runs while the VM runs (the demo's web1 has one). */
  workloadFor?: (vm: VirtualMachine) => WorkloadSpec | undefined;
  createAgent?: (launch: AgentLaunch) => RunnableAgent;
}

export interface RunningVm {
  resourceGroup: string;
  vm: string;
  host: string;
  port: number;
  exports: string[];
}

interface Entry {
  agent: RunnableAgent;
  spec: string;
  info: RunningVm;
}

interface Failure {
  message: string;
  retryAt: number;
  delayMs: number;
}

const MIN_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;

function keyOf(resourceGroup: string, vm: string): string {
  return `${nameKey(resourceGroup)}/${nameKey(vm)}`;
}

/** What an agent is started from: a change (a disk added) means a restart. */
function specOf(vm: VirtualMachine): string {
  return JSON.stringify(vm.disks.map((d) => [d.name, d.lun, d.sizeBytes, d.blob.container, d.blob.name]));
}

export class VmRunner {
  readonly #o: VmRunnerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #agents = new Map<string, Entry>();
  readonly #failures = new Map<string, Failure>();
  readonly #halt = new AbortController();
  #loop?: Promise<void>;
  #tail: Promise<unknown> = Promise.resolve();
  #pollFailing = false;
  #stopped = false;

  constructor(options: VmRunnerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? new SystemClock();
    this.#log = options.logger.child({ component: 'vm-runner', region: options.region });
  }

  get region(): string {
    return this.#o.region;
  }

  /** Runs one reconcile at once, then one per poll interval until stop(). */
  async start(): Promise<void> {
    if (this.#loop) return;
    await this.reconcile();
    this.#loop = this.#every(this.#o.pollIntervalMs ?? 1000);
  }

  /** Stops polling, then every agent (each ships what it journaled), and unpublishes their endpoints. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#halt.abort();
    await this.#loop;
    await this.#serial(async () => {
      await Promise.all([...this.#agents.keys()].map((key) => this.#stopAgent(key, 'the runner stops')));
    });
  }

  /** The VMs whose agents run now. */
  running(): RunningVm[] {
    return [...this.#agents.values()].map((e) => ({ ...e.info, exports: [...e.info.exports] }));
  }

  /** One pass: start, restart or stop agents to match the fabric, and drop stale endpoints. */
  reconcile(): Promise<void> {
    return this.#serial(() => this.#reconcile());
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped) return;
    let vms: VirtualMachine[];
    try {
      vms = await this.#o.store.virtualMachines.list();
      if (this.#pollFailing) this.#log.info('Reading the fabric works again');
      this.#pollFailing = false;
    } catch (err) {
      if (!this.#pollFailing) {
        this.#log.error('Cannot read the fabric; agents keep running as they are', {
          error: ensureError(err).message,
        });
      }
      this.#pollFailing = true;
      return;
    }
    const wanted = new Map(
      vms.filter((vm) => vm.powerState === 'Running').map((vm) => [keyOf(vm.resourceGroup, vm.name), vm]),
    );
    const stops: Promise<void>[] = [];
    for (const [key, entry] of this.#agents) {
      const vm = wanted.get(key);
      if (!vm) stops.push(this.#stopAgent(key, 'the VM is not running'));
      else if (specOf(vm) !== entry.spec) stops.push(this.#stopAgent(key, 'its disks changed'));
    }
    await Promise.all(stops);
    for (const key of this.#failures.keys()) if (!wanted.has(key)) this.#failures.delete(key);
    await Promise.all(
      [...wanted].filter(([key]) => !this.#agents.has(key)).map(([key, vm]) => this.#startAgent(key, vm)),
    );
    await this.#syncEndpoints();
  }

  async #startAgent(key: string, vm: VirtualMachine): Promise<void> {
    const failure = this.#failures.get(key);
    if (failure && this.#clock.now() < failure.retryAt) return;
    const host = this.#o.nbdHost ?? '127.0.0.1';
    const workload = this.#o.workloadFor?.(vm);
    const stateDir = path.join(this.#o.stateRoot, vm.resourceGroup, vm.name);
    const launch: AgentLaunch = {
      resourceGroup: vm.resourceGroup,
      vm: vm.name,
      connectionString: this.#o.connectionString,
      stateDir,
      nbd: { host, port: await preferredPort(stateDir, host) },
      ...(workload ? { workload } : {}),
      logger: this.#o.logger.child({ component: 'agent', region: this.#o.region }),
      clock: this.#clock,
    };
    let agent: RunnableAgent | undefined;
    try {
      agent = (this.#o.createAgent ?? this.#defaultAgent)(launch);
      await agent.start();
      const nbd = agent.status().nbd;
      const info: RunningVm = {
        resourceGroup: vm.resourceGroup,
        vm: vm.name,
        host: nbd.host,
        port: nbd.port,
        exports: nbd.exports,
      };
      this.#agents.set(key, { agent, spec: specOf(vm), info });
      this.#failures.delete(key);
      await rememberPort(stateDir, nbd.port).catch(() => undefined);
      this.#log.info('VM agent started', {
        vm: `${vm.resourceGroup}/${vm.name}`,
        nbd: `nbd://${nbd.host}:${nbd.port}/`,
        exports: nbd.exports,
        ...(workload ? { workload: `${workload.pattern} at ${workload.rateMBps} MB/s` } : {}),
      });
    } catch (err) {
      const message = ensureError(err).message;
      await agent?.stop().catch(() => undefined);
      const delayMs = failure ? Math.min(failure.delayMs * 2, MAX_RETRY_MS) : MIN_RETRY_MS;
      this.#failures.set(key, { message, retryAt: this.#clock.now() + delayMs, delayMs });
      if (failure?.message !== message) {
        this.#log.error('Cannot start the VM agent; retrying', {
          vm: `${vm.resourceGroup}/${vm.name}`,
          error: message,
          retryInMs: delayMs,
        });
      }
    }
  }

  async #stopAgent(key: string, why: string): Promise<void> {
    const entry = this.#agents.get(key);
    if (!entry) return;
    this.#agents.delete(key);
    const vm = `${entry.info.resourceGroup}/${entry.info.vm}`;
    try {
      await entry.agent.stop();
    } catch (err) {
      this.#log.error('VM agent failed to stop cleanly', { vm, error: ensureError(err).message });
    }
    await this.#o.endpoints
      .delete(entry.info.resourceGroup, entry.info.vm)
      .catch((err: unknown) =>
        this.#log.warn('Cannot unpublish the agent endpoint', { vm, error: ensureError(err).message }),
      );
    this.#log.info('VM agent stopped', { vm, reason: why });
  }

  /**
   * Makes the published endpoints match the running agents: drops rows with no agent of this runner
   * behind them (left by a crash, or by a deleted VM) and publishes any that are missing or outdated.
   */
  async #syncEndpoints(): Promise<void> {
    try {
      const published = new Map(
        (await this.#o.endpoints.list()).map((e) => [keyOf(e.resourceGroup, e.vm), e]),
      );
      for (const [key, e] of published) {
        if (!this.#agents.has(key)) await this.#o.endpoints.delete(e.resourceGroup, e.vm);
      }
      for (const [key, entry] of this.#agents) {
        const e = published.get(key);
        if (
          e &&
          e.port === entry.info.port &&
          e.host === entry.info.host &&
          e.exports.join('/') === entry.info.exports.join('/')
        )
          continue;
        await this.#o.endpoints.put({ ...entry.info, updatedAt: new Date(this.#clock.now()).toISOString() });
      }
    } catch (err) {
      this.#log.warn('Cannot sync the published agent endpoints', { error: ensureError(err).message });
    }
  }

  #defaultAgent = (launch: AgentLaunch): RunnableAgent =>
    new MobilityAgent({
      ...this.#o.agentOptions,
      resourceGroup: launch.resourceGroup,
      vm: launch.vm,
      sourceConnectionString: launch.connectionString,
      stateDir: launch.stateDir,
      nbd: launch.nbd,
      ...(launch.workload ? { workload: launch.workload } : {}),
      logger: launch.logger,
      clock: launch.clock,
    });

  async #every(ms: number): Promise<void> {
    const signal = this.#halt.signal;
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(ms, signal);
      } catch {
        return;
      }
      await this.reconcile().catch((err: unknown) =>
        this.#log.error('VM runner pass failed', { error: ensureError(err).message }),
      );
    }
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
