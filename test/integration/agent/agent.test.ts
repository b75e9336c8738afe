/**
 * The mobility agent end to end against real Azurite (one instance standing for the source region:
 * disks, agent-config and cache) and the real qemu-io over NBD. Time for polling and shipping is a
 * ManualClock; storage and NBD I/O are real, so tests step the clock until what they wait for shows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { PageBlobDisk } from '../../../agent/pageBlobDisk';
import {
  type AgentReplicationConfigInput,
  type AgentStatus,
  agentStatusBlobName,
  deleteAgentConfig,
  writeAgentConfig,
} from '../../../shared/agentConfig';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, type Delta } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';
import { CONTAINERS } from '../../../shared/storageNames';
import { createVmDisk, listVmDisks } from '../../../shared/vmDisks';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const DISKS = [
  { name: 'os', lun: 0, size: 8 * MiB },
  { name: 'data', lun: 1, size: 2 * MiB },
];

interface Vm {
  rg: string;
  vm: string;
  vmId: string;
}

interface Running {
  agent: MobilityAgent;
  clock: ManualClock;
  logger: RecordingLogger;
  port: number;
}

describe.skipIf(tools.skip)(`MobilityAgent (real Azurite, qemu-io)${tools.note}`, () => {
  const azurite = useAzurite();
  let service: BlobServiceClient;
  let disks: ContainerClient;
  let configs: ContainerClient;
  let cache: ContainerClient;
  let stateRoot: string;
  const running: MobilityAgent[] = [];

  beforeAll(async () => {
    tools.assertAvailable();
    service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    disks = service.getContainerClient(CONTAINERS.disks);
    configs = service.getContainerClient(CONTAINERS.agentConfig);
    cache = service.getContainerClient(CONTAINERS.cache);
    await cache.createIfNotExists();
    await configs.createIfNotExists();
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-agent-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((a) => a.stop().catch(() => undefined)));
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  async function makeVm(): Promise<Vm> {
    const rg = uniqueName('rg');
    for (const d of DISKS) await createVmDisk(disks, rg, 'vm1', d.name, d.lun, d.size);
    return { rg, vm: 'vm1', vmId: `${rg}/vm1` };
  }

  async function writeConfig(vm: Vm, generation: number, extra: Partial<AgentReplicationConfigInput> = {}) {
    await writeAgentConfig(
      configs,
      testAgentConfig(azurite().connectionString, { resourceGroup: vm.rg, vm: vm.vm, generation, ...extra }),
    );
  }

  async function startAgent(vm: Vm, stateDir = path.join(stateRoot, vm.rg)): Promise<Running> {
    const clock = new ManualClock(Date.now());
    const logger = new RecordingLogger();
    const agent = new MobilityAgent({
      resourceGroup: vm.rg,
      vm: vm.vm,
      sourceConnectionString: azurite().connectionString,
      stateDir,
      clock,
      logger,
      configPollIntervalMs: 1000,
      statusIntervalMs: 5000,
      healthCheckIntervalMs: 500,
    });
    running.push(agent);
    await agent.start();
    return { agent, clock, logger, port: agent.status().nbd.port };
  }

  /** Steps the clock until `check` holds (storage and NBD I/O run in real time meanwhile). */
  function until<T>(
    r: Running,
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
  ) {
    return waitFor(
      async () => {
        const value = await check();
        if (value !== undefined && value !== false) return value;
        await r.clock.advance(250);
        return undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10, what },
    );
  }

  /** Until every journaled write is in the cache. */
  function shipped(r: Running, generation: number): Promise<AgentStatus> {
    return until(r, `generation ${generation} shipped`, () => {
      const s = r.agent.status();
      return s.generation === generation && s.heldBytes === 0 && s.lastSequence > 0 && s;
    });
  }

  async function io(port: number, exportName: string, commands: string[]): Promise<string> {
    const result = await qemuIo(port, exportName, commands);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(output).not.toMatch(/failed|error|Pattern verification/i);
    return output;
  }

  async function readDisks(vm: Vm): Promise<Buffer[]> {
    const found = await listVmDisks(disks, vm.rg, vm.vm);
    return Promise.all(
      found.map(async (d) => {
        const disk = await PageBlobDisk.open(d.name, disks.getPageBlobClient(d.blobName));
        return disk.read(0, disk.size);
      }),
    );
  }

  async function deltas(vm: Vm, generation: number): Promise<Delta[]> {
    const out: Delta[] = [];
    for await (const item of cache.listBlobsFlat({ prefix: `${vm.vmId}/${generation}/` })) {
      const body = await cache.getBlobClient(item.name).downloadToBuffer();
      out.push(decodeDelta(body, { vmId: vm.vmId, generation }));
    }
    return out.sort((a, b) => a.sequence - b.sequence);
  }

  function replay(base: Buffer[], all: Delta[]): Buffer[] {
    const out = base.map((b) => Buffer.from(b));
    for (const d of all) {
      for (const e of d.entries) {
        if ('data' in e) e.data.copy(out[e.disk]!, e.offset);
        else out[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
      }
    }
    return out;
  }

  function expectSameDisks(actual: Buffer[], expected: Buffer[]): void {
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < actual.length; i++) {
      expect(actual[i]!.equals(expected[i]!), `disk ${i} differs`).toBe(true);
    }
  }

  async function statusBlob(vm: Vm): Promise<AgentStatus | undefined> {
    const blob = cache.getBlobClient(agentStatusBlobName(vm.rg, vm.vm));
    if (!(await blob.exists())) return undefined;
    return JSON.parse((await blob.downloadToBuffer()).toString()) as AgentStatus;
  }

  it('ships nothing before enable, then every write; replaying the deltas reproduces both disks', async () => {
    const vm = await makeVm();
    const r = await startAgent(vm);
    expect(r.agent.status()).toMatchObject({
      health: 'NotReplicating',
      generation: null,
      nbd: { host: '127.0.0.1', exports: ['os', 'data'] },
    });
    // The default export is the first disk (lun 0).
    await io(r.port, '', ['write -P 0x01 0 64k']);
    await io(r.port, 'data', ['write -P 0x02 4096 8k']);
    await r.clock.advance(5_000);
    expect(await cache.listBlobsFlat({ prefix: `${vm.vmId}/` }).next()).toMatchObject({ done: true });

    const atEnable = await readDisks(vm);
    await writeConfig(vm, 1);
    await until(r, 'replication on', () => r.agent.status().generation === 1);
    await io(r.port, 'os', [
      'write -P 0x11 0 64k',
      'write -P 0x12 1000 3001',
      'write -z 8k 4k',
      'discard 16k 8k',
      'write -P 0x13 1M 6M',
    ]);
    await io(r.port, 'data', ['write -P 0x21 0 512', 'write -P 0x22 2000k 48k', 'write -z -u 4096 4096']);
    const status = await shipped(r, 1);
    expect(status).toMatchObject({ health: 'Healthy', queuedBytes: 0, waitingWriters: 0 });
    expect(status.resyncReason).toBeUndefined();

    const gen1 = await deltas(vm, 1);
    expect(gen1.map((d) => d.sequence)).toEqual(gen1.map((_, i) => i + 1));
    expect(gen1.flatMap((d) => d.entries).length).toBeGreaterThanOrEqual(8);
    expectSameDisks(replay(atEnable, gen1), await readDisks(vm));

    const reported = await until(r, 'status blob', () => statusBlob(vm));
    expect(reported).toMatchObject({
      vmId: vm.vmId,
      generation: 1,
      health: 'Healthy',
      nbd: { host: '127.0.0.1', port: r.port, exports: ['os', 'data'] },
    });
    expect(Date.parse(reported.updatedAt)).toBeGreaterThan(0);
    await r.agent.stop();
  });

  it('switches generations without losing a write made during the switch', async () => {
    const vm = await makeVm();
    const r = await startAgent(vm);
    const atEnable = await readDisks(vm);
    await writeConfig(vm, 1);
    await until(r, 'generation 1', () => r.agent.status().generation === 1);

    let stopWriters = false;
    let rounds = 0;
    const writer = async (exportName: string, size: number, seed: number): Promise<void> => {
      for (let round = 0; !stopWriters; round++) {
        const commands = Array.from({ length: 8 }, (_, i) => {
          const n = (seed * 7919 + round * 104_729 + i * 15_485_863) % (size / 512 - 16);
          return `write -P ${(round * 8 + i + seed) % 255} ${n * 512 + (i % 3) * 100} ${4096 + (i % 2) * 700}`;
        });
        await io(r.port, exportName, commands);
        rounds++;
      }
    };
    const writers = [writer('os', 8 * MiB, 1), writer('data', 2 * MiB, 2)];
    await until(r, 'writes in generation 1', () => r.agent.status().lastSequence >= 2);
    await writeConfig(vm, 2);
    await until(r, 'generation 2', () => r.agent.status().generation === 2);
    const roundsAtSwitch = rounds;
    await waitFor(() => rounds >= roundsAtSwitch + 4, { what: 'writes after the switch' });
    stopWriters = true;
    await Promise.all(writers);
    await shipped(r, 2);

    const gen1 = await deltas(vm, 1);
    const gen2 = await deltas(vm, 2);
    expect(gen1.map((d) => d.sequence)).toEqual(gen1.map((_, i) => i + 1));
    expect(gen2.map((d) => d.sequence)).toEqual(gen2.map((_, i) => i + 1));
    expect(gen1.some((d) => d.entries.length > 0)).toBe(true);
    expect(gen2.some((d) => d.entries.length > 0)).toBe(true);
    expectSameDisks(replay(atEnable, [...gen1, ...gen2]), await readDisks(vm));
    expect(r.agent.status().resyncReason).toBeUndefined();
    await r.agent.stop();
  });

  it('stops shipping when the config is deleted, and NBD keeps serving', async () => {
    const vm = await makeVm();
    const r = await startAgent(vm);
    await writeConfig(vm, 1);
    await until(r, 'generation 1', () => r.agent.status().generation === 1);
    await io(r.port, 'os', ['write -P 0x31 0 4k']);
    await shipped(r, 1);

    expect(await deleteAgentConfig(configs, vm.rg, vm.vm)).toBe(true);
    await until(r, 'replication off', () => r.agent.status().health === 'NotReplicating');
    const count = (await deltas(vm, 1)).length;
    await until(r, 'the last status', async () => (await statusBlob(vm))?.health === 'NotReplicating');

    await io(r.port, 'os', ['write -P 0x32 0 4k', 'read -P 0x32 0 4k']);
    await io(r.port, 'data', ['write -P 0x33 0 4k']);
    await r.clock.advance(120_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await deltas(vm, 1)).length).toBe(count);
    expect(r.agent.status()).toMatchObject({ generation: null, queuedBytes: 0 });
    await r.agent.stop();
  });

  it('marks the delta after an app-consistent request, holding every write acknowledged before it', async () => {
    const vm = await makeVm();
    const r = await startAgent(vm);
    const slow = { flushIntervalMs: 600_000, heartbeatIntervalMs: 3_600_000 };
    await writeConfig(vm, 1, { ...slow, appConsistentRequest: 4 });
    await until(r, 'generation 1', () => r.agent.status().generation === 1);
    await io(r.port, 'os', ['write -P 0x41 0 4k', 'write -P 0x42 64k 4k']);
    await io(r.port, 'data', ['write -P 0x43 0 4k']);

    await writeConfig(vm, 1, { ...slow, appConsistentRequest: 5 });
    await until(r, 'bookmark', () => r.logger.records.some((l) => /App-consistent bookmark/.test(l.msg)));
    await io(r.port, 'os', ['write -P 0x44 128k 4k']);
    await r.clock.advance(600_000);
    await shipped(r, 1);

    const gen1 = (await deltas(vm, 1)).filter((d) => !d.heartbeat);
    expect(gen1.map((d) => d.appConsistent)).toEqual([true, false]);
    const marked = gen1[0]!.entries.map((e) => [e.disk, e.offset]);
    expect(marked).toEqual([
      [0, 0],
      [0, 65536],
      [1, 0],
    ]);
    expect(gen1[1]!.entries.map((e) => [e.disk, e.offset])).toEqual([[0, 131072]]);
    await r.agent.stop();
  });

  it('rejects an invalid config, keeps its state and reports why', async () => {
    const vm = await makeVm();
    const r = await startAgent(vm);
    await writeAgentConfigRaw(vm, {
      version: 2,
      vmId: vm.vmId,
      generation: 0,
      cache: { containerUrl: 'nope' },
    });
    const rejected = await until(r, 'config error', () => r.agent.status().configError);
    expect(rejected).toMatch(/generation/);
    expect(rejected).toMatch(/cache\.containerUrl/);
    expect(r.agent.status().health).toBe('NotReplicating');
    await io(r.port, 'os', ['write -P 0x51 0 4k', 'read -P 0x51 0 4k']);

    await writeConfig(vm, 1);
    await until(r, 'generation 1', () => r.agent.status().generation === 1 && !r.agent.status().configError);
    await writeAgentConfigRaw(vm, '{"version": 1,');
    await until(r, 'config error', () => /not JSON/.test(r.agent.status().configError ?? ''));
    await io(r.port, 'os', ['write -P 0x52 0 4k']);
    const status = await shipped(r, 1);
    expect(status.configError).toMatch(/not JSON/);
    const reported = await until(r, 'status blob with the error', async () => {
      const s = await statusBlob(vm);
      return s?.configError !== undefined && s;
    });
    expect(reported).toMatchObject({ generation: 1, health: 'Healthy' });
    expect(r.logger.records.some((l) => l.level === 'error' && /config rejected/.test(l.msg))).toBe(true);
    await r.agent.stop();
  });

  async function writeAgentConfigRaw(vm: Vm, value: unknown): Promise<void> {
    const body = typeof value === 'string' ? value : JSON.stringify(value);
    await configs.getBlockBlobClient(`${vm.vmId}.json`).upload(body, Buffer.byteLength(body));
  }

  it('continues sequence numbers across a clean restart and asks for a resync after a kill', async () => {
    const vm = await makeVm();
    const stateDir = path.join(stateRoot, `${vm.rg}-restart`);
    const first = await startAgent(vm, stateDir);
    await writeConfig(vm, 1);
    await until(first, 'generation 1', () => first.agent.status().generation === 1);
    await io(first.port, 'os', ['write -P 0x61 0 4k']);
    const before = await shipped(first, 1);
    await first.agent.stop();
    expect((await statusBlob(vm))?.health).toBe('Stopped');

    const second = await startAgent(vm, stateDir);
    expect(second.agent.status()).toMatchObject({ generation: 1, lastSequence: before.lastSequence });
    await io(second.port, 'os', ['write -P 0x62 0 4k']);
    const after = await shipped(second, 1);
    expect(after.lastSequence).toBe(before.lastSequence + 1);
    expect(after.resyncReason).toBeUndefined();

    // A kill: the second agent never stops; a third takes over its state.
    const third = await startAgent(vm, stateDir);
    expect(third.agent.status().resyncReason).toMatch(/stopped without shipping/);
    await until(
      third,
      'status blob with the resync reason',
      async () => (await statusBlob(vm))?.resyncReason,
    );
    await third.agent.stop();
    await second.agent.stop();
  });

  it('refuses to start for a VM without disks', async () => {
    const agent = new MobilityAgent({
      resourceGroup: uniqueName('rg'),
      vm: 'nothing',
      sourceConnectionString: azurite().connectionString,
      stateDir: stateRoot,
      logger: new RecordingLogger(),
    });
    await expect(agent.start()).rejects.toMatchObject({ code: 'NotFound', message: /has no disks/ });
  });
});
