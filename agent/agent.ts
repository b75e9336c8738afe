/**
 * The mobility agent of one VM: serves the VM's disks over NBD, and while its replication config
 * (shared/agentConfig.ts) says so, journals every write and ships it to the cache as deltas. It
 * only ever calls out: it polls the config blob and writes its status next to its deltas.
 *
 *   NotReplicating ──config──▶ Replicating(gen) ──config deleted──▶ NotReplicating
 *                                 │   ▲
 *                                 └───┘ generation or settings change: switch pipelines
 *
 * Every transition runs on one serial chain, so polls, switches, bookmarks and stop never overlap.
 * Fresh cache credentials are the exception: when the shipper has none for its next delta, the
 * config is read again every `credentialsPollIntervalMs` outside that chain (a switch or a stop may
 * be waiting on that very upload) and only the sink's credentials are replaced.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import {
  type AgentCacheCredentials,
  type AgentHealth,
  type AgentReplicationConfig,
  type AgentStatus,
  agentStatusBlobName,
} from '../shared/agentConfig';
import { type Clock, SystemClock } from '../shared/clock';
import { ensureError, TidemarkError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { CONTAINERS } from '../shared/storageNames';
import { type ConfigRead, type ConfigReadCache, readAgentConfig } from './agentConfig';
import { ChangeJournal } from './changeJournal';
import { DeltaShipper } from './deltaShipper';
import { BlobDeltaSink, type DeltaSink, type PutResult } from './deltaSink';
import { type NbdServer, startNbdServer } from './nbd';
import { FileSequenceStore } from './sequenceStore';
import { openVmDisks, type VmDisks } from './vmDisks';
import { parseWorkloadSpec, runWorkload, type WorkloadSpec, type WorkloadStats } from './workload';

export interface MobilityAgentOptions {
  resourceGroup: string;
  vm: string;
  /** Source storage: the VM's disks and its agent config. */
  sourceConnectionString: string;
  /** Where sequence numbers are kept across restarts; keep it stable (docs/agent.md). */
  stateDir: string;
  /** TCP (default 127.0.0.1, any free port), or a unix socket when `socketPath` is set. */
  nbd?: { host?: string; port?: number; socketPath?: string };
  /**
   * A built-in workload (agent/workload.ts) run once NBD serves, on the disks as NBD serves them, so
   * its writes are journaled like NBD writes; `disks` are indexes in lun order. Stopped by stop().
   */
  workload?: WorkloadSpec;
  clock?: Clock;
  logger: Logger;
  configPollIntervalMs?: number;
  /** How often the config is read while the shipper waits for cache credentials (default 1 s). */
  credentialsPollIntervalMs?: number;
  /** Status is written this often, and at once on any change of health, generation or error. */
  statusIntervalMs?: number;
  /** How often health is looked at for changes. */
  healthCheckIntervalMs?: number;
  /** How long a stopping shipper may try to reach the cache before giving up (then: resync). */
  shipperStopTimeoutMs?: number;
  /** Seams for tests; by default the source storage and BlobDeltaSink. */
  openDisks?: () => Promise<VmDisks>;
  readConfig?: () => Promise<ConfigRead>;
  createSink?: (credentials: AgentCacheCredentials) => DeltaSink;
}

/** The journal and shipper of one config; the shipper is absent until it could be started. */
interface Pipeline {
  config: AgentReplicationConfig;
  journal: ChangeJournal;
  sink: SwitchableSink;
  shipper?: DeltaShipper;
  /** The loop reading fresh credentials while the shipper waits for them. */
  refreshing?: Promise<void>;
}

/**
 * A sink whose credentials can be replaced under a running shipper (its retries then use the new
 * ones). Each config read takes a ticket before it starts; credentials from a read that started
 * before the one already applied are ignored, so two readers never put back an older window.
 */
class SwitchableSink implements DeltaSink {
  #key: string;
  #ticket: number;
  #sink: DeltaSink;

  constructor(
    credentials: AgentCacheCredentials,
    ticket: number,
    private readonly create: (credentials: AgentCacheCredentials) => DeltaSink,
  ) {
    this.#key = JSON.stringify(credentials);
    this.#ticket = ticket;
    this.#sink = create(credentials);
  }

  /** Uses these credentials from the next upload on; true when they changed. */
  use(credentials: AgentCacheCredentials, ticket: number): boolean {
    if (ticket < this.#ticket) return false;
    this.#ticket = ticket;
    const key = JSON.stringify(credentials);
    if (key === this.#key) return false;
    this.#key = key;
    this.#sink = this.create(credentials);
    return true;
  }

  putDelta(name: string, body: Buffer, metadata: Record<string, string>): Promise<PutResult> {
    return this.#sink.putDelta(name, body, metadata);
  }

  putJson(name: string, value: unknown): Promise<void> {
    return this.#sink.putJson(name, value);
  }
}

/** Settings that need a new journal or shipper when they change (the credentials do not). */
function pipelineKey(c: AgentReplicationConfig): string {
  return JSON.stringify([
    c.generation,
    c.flushIntervalMs,
    c.maxDeltaBytes,
    c.heartbeatIntervalMs,
    c.maxBufferBytes,
  ]);
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export class MobilityAgent {
  readonly #o: MobilityAgentOptions;
  readonly #vmId: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #source: BlobServiceClient;
  readonly #halt = new AbortController();
  #phase: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #started?: Promise<void>;
  #stopped?: Promise<void>;
  #loops: Promise<void>[] = [];
  #tail: Promise<unknown> = Promise.resolve();
  #disks?: VmDisks;
  #nbd?: NbdServer;
  #workload?: Promise<WorkloadStats | undefined>;
  #pipeline?: Pipeline;
  #appRequest?: number;
  #configError?: string;
  #error?: string;
  #resyncReason?: string;
  #statusSink?: DeltaSink;
  #statusRun?: Promise<void>;
  #statusDirty = false;
  #statusFailing = false;
  #lastStatusKey?: string;
  #lastStatusAt = -Infinity;
  /** Numbers config reads in the order they start (SwitchableSink.use). */
  #readTicket = 0;
  /** The last config read and its ETag: polls download the blob only when it changed. */
  readonly #configCache: { current?: ConfigReadCache } = {};

  constructor(options: MobilityAgentOptions) {
    this.#o = options;
    this.#vmId = `${options.resourceGroup}/${options.vm}`;
    this.#clock = options.clock ?? new SystemClock();
    this.#log = options.logger.child({ vm: this.#vmId });
    this.#source = BlobServiceClient.fromConnectionString(options.sourceConnectionString);
    if (options.workload) parseWorkloadSpec(options.workload); // a bad spec fails here, not after start
  }

  /**
   * Opens the disks, applies the config as it is now, then serves NBD: when replication is on, the
   * journal is attached before the first request is served, so a restart misses no write.
   */
  start(): Promise<void> {
    if (this.#phase !== 'new') {
      return Promise.reject(new TidemarkError('Conflict', 'A MobilityAgent starts once.'));
    }
    this.#phase = 'starting';
    this.#started = this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    try {
      this.#disks = await (this.#o.openDisks?.() ??
        openVmDisks(this.#container(CONTAINERS.disks), this.#o.resourceGroup, this.#o.vm));
      await this.#serial(() => this.#poll());
      this.#nbd = await startNbdServer({
        host: this.#host,
        port: this.#o.nbd?.port ?? 0,
        ...(this.#o.nbd?.socketPath !== undefined ? { socketPath: this.#o.nbd.socketPath } : {}),
        exports: this.#disks.exports,
        defaultExport: this.#disks.names[0],
        logger: this.#log,
      });
    } catch (err) {
      this.#phase = 'stopped';
      await this.#pipeline?.shipper?.stop({ timeoutMs: this.#stopTimeoutMs }).catch(() => undefined);
      throw err;
    }
    this.#phase = 'running';
    this.#loops = [
      this.#every(this.#o.configPollIntervalMs ?? 5000, () => this.#serial(() => this.#pollLogged())),
      this.#every(this.#o.healthCheckIntervalMs ?? 1000, async () => this.#statusTick()),
    ];
    if (this.#o.workload) this.#workload = this.#runWorkload(this.#o.workload);
    void this.#publishStatus();
    this.#log.info('Mobility agent running', {
      nbd: this.status().nbd,
      replicating: this.#pipeline !== undefined,
    });
  }

  /**
   * Stops polling, closes NBD (requests in flight finish and are journaled), then ships every
   * journaled write and stops the shipper, so the next start needs no resync. NBD closes first:
   * a write served after the shipper's last flush would otherwise never reach the cache.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    await this.#started?.catch(() => undefined);
    if (this.#phase !== 'running') return;
    this.#halt.abort();
    // The workload's last write must be journaled before the shipper's last flush.
    await Promise.all([...this.#loops, this.#workload]);
    await this.#serial(async () => {
      await this.#nbd?.close();
      const p = this.#pipeline;
      if (p && !p.shipper) {
        await this.#startShipper(p).catch((err: unknown) => this.#fail('Cannot start the shipper', err));
      }
      await p?.shipper?.stop({ timeoutMs: this.#stopTimeoutMs });
      this.#phase = 'stopped';
      await this.#bounded(this.#publishStatus());
    });
    this.#log.info('Mobility agent stopped');
  }

  status(): AgentStatus {
    const p = this.#pipeline;
    const s = p?.shipper?.status();
    let health: AgentHealth = 'NotReplicating';
    if (this.#phase === 'stopped') health = 'Stopped';
    else if (p) health = s?.health ?? 'Degraded';
    const status: AgentStatus = {
      vmId: this.#vmId,
      generation: p?.config.generation ?? null,
      health,
      lastSequence: s?.lastSequence ?? 0,
      lastUploadAt: iso(s?.lastUploadAt),
      coveredUntil: iso(s?.coveredUntil),
      queuedBytes: p?.journal.queuedBytes ?? 0,
      heldBytes: p?.journal.heldBytes ?? 0,
      waitingWriters: p?.journal.waitingWriters ?? 0,
      nbd: {
        host: this.#o.nbd?.socketPath !== undefined ? `unix:${this.#o.nbd.socketPath}` : this.#host,
        port: this.#nbd?.port ?? 0,
        ...(this.#o.nbd?.socketPath !== undefined ? { socketPath: this.#o.nbd.socketPath } : {}),
        exports: this.#disks?.names ?? [],
      },
      updatedAt: new Date(this.#clock.now()).toISOString(),
    };
    const resyncReason = this.#resyncReason ?? s?.resyncReason;
    if (resyncReason !== undefined) status.resyncReason = resyncReason;
    if (this.#configError !== undefined) status.configError = this.#configError;
    if (this.#error !== undefined) status.error = this.#error;
    return status;
  }

  /** Where NBD clients connect (`nbd://HOST:PORT` or `nbd+unix:///?socket=PATH`), once serving. */
  get nbdUri(): string | undefined {
    return this.#nbd?.uri;
  }

  /** The built-in workload's stats once it ends (undefined if it failed or none was asked for). */
  get workloadDone(): Promise<WorkloadStats | undefined> {
    return this.#workload ?? Promise.resolve(undefined);
  }

  get #host(): string {
    return this.#o.nbd?.host ?? '127.0.0.1';
  }

  get #stopTimeoutMs(): number {
    return this.#o.shipperStopTimeoutMs ?? 30_000;
  }

  #container(name: string): ContainerClient {
    return this.#source.getContainerClient(name);
  }

  // ── config ────────────────────────────────────────────────────────────────

  /** A poll on the timer: failures are logged and reported, the current state stays. */
  async #pollLogged(): Promise<void> {
    try {
      await this.#poll();
      this.#setError(undefined);
    } catch (err) {
      this.#fail('Cannot read or apply the replication config; keeping the current state', err);
    }
  }

  #readConfig(): Promise<ConfigRead> {
    return (
      this.#o.readConfig?.() ??
      readAgentConfig(
        this.#container(CONTAINERS.agentConfig),
        this.#o.resourceGroup,
        this.#o.vm,
        this.#configCache,
      )
    );
  }

  async #poll(): Promise<void> {
    const ticket = ++this.#readTicket;
    const read = await this.#readConfig();
    if (read.kind === 'invalid') {
      if (read.problem !== this.#configError) {
        this.#log.error('Replication config rejected; keeping the current state', { problem: read.problem });
        this.#configError = read.problem;
        void this.#publishStatus();
      }
      return;
    }
    if (this.#configError !== undefined) {
      this.#configError = undefined;
      void this.#publishStatus();
    }
    if (read.kind === 'absent') {
      if (this.#pipeline) await this.#disable();
      return;
    }
    await this.#apply(read.config, ticket);
  }

  async #apply(config: AgentReplicationConfig, ticket: number): Promise<void> {
    const p = this.#pipeline;
    if (!p) await this.#enable(config, ticket);
    else if (pipelineKey(p.config) !== pipelineKey(config)) await this.#switch(p, config, ticket);
    else {
      if (p.sink.use(config.cache, ticket)) p.shipper?.retryNow();
      p.config = config;
      if (!p.shipper) await this.#startShipper(p);
    }
    await this.#maybeBookmark(config.appConsistentRequest ?? 0);
  }

  /** Shipper first, then the journal on every disk: nothing is journaled that no one ships. */
  async #enable(config: AgentReplicationConfig, ticket: number): Promise<void> {
    const disks = this.#requireDisks();
    const p = this.#newPipeline(config, ticket);
    const { continuing } = await this.#startShipper(p);
    await disks.setJournal(p.journal);
    const missed = disks.takeUnjournaledWrites();
    if (continuing && missed > 0) {
      // Sequence numbers go on where this generation left off, but writes made meanwhile are not in it.
      this.#resyncReason = `${missed} writes were served while replication was off (no valid config) and generation ${config.generation} goes on without them; the replicas miss them`;
      this.#log.error('Writes were made while not replicating: the VM needs a resync', { missed });
      p.shipper?.requireResync(this.#resyncReason);
    }
    this.#pipeline = p;
    this.#statusSink = p.sink;
    this.#log.info('Replication on', {
      generation: config.generation,
      lastSequence: p.shipper?.status().lastSequence,
    });
    void this.#publishStatus();
  }

  /**
   * A new generation or new settings. The journal is swapped on every disk at one instant
   * (VmDisks.setJournal: each disk holds new requests only until those in flight finish), so every
   * write is in exactly one journal, earlier ones in the old. Then the old shipper ships what the old
   * journal holds and stops, and only then the new one starts: both keep their numbers in the same
   * sequence file, and the new generation's first delta must not reach the cache before the old
   * generation's last. Writes meanwhile wait in the new journal (back-pressure when it is full).
   */
  async #switch(old: Pipeline, config: AgentReplicationConfig, ticket: number): Promise<void> {
    const disks = this.#requireDisks();
    // Credentials are per generation: the old shipper keeps its own unless the generation stays.
    if (config.generation === old.config.generation && old.sink.use(config.cache, ticket)) {
      old.shipper?.retryNow();
    }
    const next = this.#newPipeline(config, ticket);
    await disks.setJournal(next.journal);
    if (config.generation !== old.config.generation) this.#resyncReason = undefined;
    let lost: string | undefined;
    if (old.shipper) await old.shipper.stop({ timeoutMs: this.#stopTimeoutMs });
    else if (old.journal.hasPending)
      this.#resyncReason = lost = 'writes journaled while no shipper ran were lost';
    this.#log.info('Replication config changed', { from: old.config.generation, to: config.generation });
    try {
      await this.#startShipper(next);
      // The same generation goes on without them: its next delta tells the applier to stop there.
      if (lost && config.generation === old.config.generation) next.shipper?.requireResync(lost);
    } finally {
      this.#pipeline = next;
      this.#statusSink = next.sink;
      void this.#publishStatus();
    }
  }

  /** Replication disabled: stop journaling, ship what is journaled, report once more, stop. */
  async #disable(): Promise<void> {
    const p = this.#pipeline!;
    const disks = this.#requireDisks();
    await disks.setJournal(undefined);
    disks.takeUnjournaledWrites();
    await p.shipper?.stop({ timeoutMs: this.#stopTimeoutMs });
    this.#pipeline = undefined;
    this.#resyncReason = undefined;
    this.#log.info('Replication off (config deleted)', { generation: p.config.generation });
    await this.#bounded(this.#publishStatus());
    this.#statusSink = undefined;
  }

  /**
   * An app-consistent bookmark: the crash-consistent analogue of a VSS or fsfreeze snapshot point.
   * Flushing every disk waits for each request issued before it, so every write acknowledged before
   * the request is journaled; the bookmark then marks the journal's end, and the delta ending there is
   * flagged app-consistent. (An application that quiesced itself before asking is consistent there.)
   */
  async #maybeBookmark(request: number): Promise<void> {
    const previous = this.#appRequest;
    this.#appRequest = request;
    const p = this.#pipeline;
    if (previous === undefined || request <= previous || !p) return;
    await this.#requireDisks().flush();
    p.journal.bookmark();
    this.#log.info('App-consistent bookmark taken', { request, generation: p.config.generation });
  }

  #newPipeline(config: AgentReplicationConfig, ticket: number): Pipeline {
    return {
      config,
      journal: new ChangeJournal({ clock: this.#clock, maxBufferBytes: config.maxBufferBytes }),
      sink: new SwitchableSink(
        config.cache,
        ticket,
        this.#o.createSink ?? ((credentials) => new BlobDeltaSink(credentials)),
      ),
    };
  }

  /**
   * The shipper has no credentials for its next delta: reads the config every
   * `credentialsPollIntervalMs` until it has, taking only the credentials of this pipeline's
   * generation from it. Runs outside the serial chain (a switch or stop may be waiting on that
   * upload), ends when the shipper stops waiting (credentials came, or it was stopped).
   */
  #credentialsNeeded(p: Pipeline, shipper: DeltaShipper): void {
    p.refreshing ??= (async () => {
      const interval = this.#o.credentialsPollIntervalMs ?? 1000;
      try {
        while (shipper.waitingForCredentials) {
          const ticket = ++this.#readTicket;
          const read = await this.#readConfig().catch((err: unknown): undefined => {
            this.#log.debug('Cannot read the config for fresh credentials', {
              error: ensureError(err).message,
            });
            return undefined;
          });
          if (read?.kind === 'valid' && read.config.generation === p.config.generation) {
            if (p.sink.use(read.config.cache, ticket)) shipper.retryNow();
          }
          await this.#clock.sleep(interval);
        }
      } finally {
        p.refreshing = undefined;
      }
    })();
  }

  /** Starts the pipeline's shipper; `continuing` when the generation already had sequence numbers. */
  async #startShipper(p: Pipeline): Promise<{ continuing: boolean }> {
    const sequences = new FileSequenceStore(this.#o.stateDir);
    const { previousRunClean } = await sequences.load(this.#vmId, p.config.generation);
    const shipper = new DeltaShipper({
      resourceGroup: this.#o.resourceGroup,
      vm: this.#o.vm,
      generation: p.config.generation,
      journal: p.journal,
      sink: p.sink,
      sequences,
      clock: this.#clock,
      logger: this.#log.child({ component: 'shipper', generation: p.config.generation }),
      flushIntervalMs: p.config.flushIntervalMs,
      maxDeltaBytes: p.config.maxDeltaBytes,
      heartbeatIntervalMs: p.config.heartbeatIntervalMs,
      onCredentialsNeeded: () => this.#credentialsNeeded(p, shipper),
    });
    await shipper.start();
    p.shipper = shipper;
    return { continuing: previousRunClean !== undefined };
  }

  #requireDisks(): VmDisks {
    if (!this.#disks) throw new TidemarkError('Internal', 'MobilityAgent used before start().');
    return this.#disks;
  }

  async #runWorkload(spec: WorkloadSpec): Promise<WorkloadStats | undefined> {
    try {
      return await runWorkload([...this.#requireDisks().exports.values()], spec, {
        clock: this.#clock,
        signal: this.#halt.signal,
        logger: this.#log.child({ component: 'workload' }),
      });
    } catch (err) {
      this.#log.error('Workload failed', { error: ensureError(err).message });
      return undefined;
    }
  }

  // ── status ────────────────────────────────────────────────────────────────

  #statusKey(s: AgentStatus): string {
    return JSON.stringify([s.health, s.generation, s.resyncReason, s.configError, s.error]);
  }

  #statusTick(): void {
    const due = this.#clock.now() - this.#lastStatusAt >= (this.#o.statusIntervalMs ?? 10_000);
    if (due || this.#statusKey(this.status()) !== this.#lastStatusKey) void this.#publishStatus();
  }

  /** Writes the status now (after any write in progress); never throws, never piles up. */
  #publishStatus(): Promise<void> {
    this.#statusDirty = true;
    this.#statusRun ??= (async () => {
      try {
        while (this.#statusDirty) {
          this.#statusDirty = false;
          await this.#writeStatus();
        }
      } finally {
        this.#statusRun = undefined;
      }
    })();
    return this.#statusRun;
  }

  async #writeStatus(): Promise<void> {
    const status = this.status();
    this.#lastStatusKey = this.#statusKey(status);
    this.#lastStatusAt = this.#clock.now();
    const sink = this.#statusSink;
    if (!sink) return;
    try {
      await sink.putJson(agentStatusBlobName(this.#o.resourceGroup, this.#o.vm), status);
      if (this.#statusFailing) this.#log.info('Status writes recovered');
      this.#statusFailing = false;
    } catch (err) {
      if (!this.#statusFailing) {
        this.#log.warn('Cannot write the agent status to the cache', { error: ensureError(err).message });
      }
      this.#statusFailing = true;
    }
  }

  // ── plumbing ──────────────────────────────────────────────────────────────

  #fail(what: string, err: unknown): void {
    const message = `${what}: ${ensureError(err).message.split('\n')[0]}`;
    if (message !== this.#error) this.#log.error(what, { error: ensureError(err).message });
    this.#setError(message);
  }

  #setError(message: string | undefined): void {
    if (message === this.#error) return;
    this.#error = message;
    void this.#publishStatus();
  }

  /** Waits for `work`, but no longer than the shipper's stop timeout (a status write may hang). */
  async #bounded(work: Promise<void>): Promise<void> {
    const done = new AbortController();
    const timeout = this.#clock.sleep(this.#stopTimeoutMs, done.signal).catch(() => undefined);
    await Promise.race([work, timeout]);
    done.abort();
  }

  async #every(ms: number, fn: () => Promise<void>): Promise<void> {
    const signal = this.#halt.signal;
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(ms, signal);
      } catch {
        return;
      }
      await fn();
    }
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
