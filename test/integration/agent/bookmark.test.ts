/**
 * App-consistent bookmarks on request, against real Azurite: `bumpAppConsistentRequest` and the
 * `tidemark-agent bookmark` command bump the counter in the agent config (ETag-conditional, other
 * fields kept), and the running agent flags its next delta app-consistent after its next poll.
 * The agent runs in-process on a ManualClock; qemu-io writes through its NBD server. The CLI runs
 * dist/agent/cli.js, rebuilt first when older than the sources (`npm test` builds).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { bumpAppConsistentRequest, writeAgentConfig } from '../../../shared/agentConfig';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, type Delta } from '../../../shared/delta';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import { CONTAINERS } from '../../../shared/storageNames';
import { createVmDisk } from '../../../shared/vmDisks';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';
import { ensureBuilt as ensureBuiltCli } from '../../helpers/builtCli';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist/agent/cli.js');
const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
/** Deltas only when the test says so: every write waits for the next flush or bookmark. */
const SLOW = { flushIntervalMs: 600_000, heartbeatIntervalMs: 3_600_000 };

function ensureBuilt(): void {
  ensureBuiltCli(CLI, ['agent', 'shared']);
}

interface Vm {
  rg: string;
  vmId: string;
}

interface Running {
  agent: MobilityAgent;
  clock: ManualClock;
  logger: RecordingLogger;
  port: number;
}

describe.skipIf(tools.skip)(`app-consistent bookmark on request (real Azurite)${tools.note}`, () => {
  const azurite = useAzurite();
  let configs: ContainerClient;
  let cache: ContainerClient;
  let disks: ContainerClient;
  let stateRoot: string;
  const running: MobilityAgent[] = [];

  beforeAll(async () => {
    tools.assertAvailable();
    ensureBuilt();
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    configs = service.getContainerClient(CONTAINERS.agentConfig);
    cache = service.getContainerClient(CONTAINERS.cache);
    disks = service.getContainerClient(CONTAINERS.disks);
    await Promise.all([configs.createIfNotExists(), cache.createIfNotExists()]);
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bookmark-'));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(running.map((a) => a.stop().catch(() => undefined)));
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  async function makeVm(withConfig = true): Promise<Vm> {
    const rg = uniqueName('rg');
    await createVmDisk(disks, rg, 'vm1', 'os', 0, 4 * MiB);
    await createVmDisk(disks, rg, 'vm1', 'data', 1, MiB);
    const vm = { rg, vmId: `${rg}/vm1` };
    if (withConfig) {
      await writeAgentConfig(
        configs,
        testAgentConfig(azurite().connectionString, { resourceGroup: rg, vm: 'vm1', ...SLOW }),
      );
    }
    return vm;
  }

  async function startAgent(vm: Vm): Promise<Running> {
    const clock = new ManualClock(Date.now());
    const logger = new RecordingLogger();
    const agent = new MobilityAgent({
      resourceGroup: vm.rg,
      vm: 'vm1',
      sourceConnectionString: azurite().connectionString,
      stateDir: path.join(stateRoot, vm.rg),
      clock,
      logger,
      configPollIntervalMs: 1000,
    });
    running.push(agent);
    await agent.start();
    return { agent, clock, logger, port: agent.status().nbd.port };
  }

  function until<T>(r: Running, what: string, check: () => T | undefined | false): Promise<T> {
    return waitFor(
      async () => {
        const value = check();
        if (value !== undefined && value !== false) return value;
        await r.clock.advance(250);
        return undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10, what },
    );
  }

  async function write(r: Running, exportName: string, command: string): Promise<void> {
    const result = await qemuIo(r.port, exportName, [command]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }

  async function deltas(vm: Vm): Promise<Delta[]> {
    const out: Delta[] = [];
    for await (const item of cache.listBlobsFlat({ prefix: `${vm.vmId}/1/` })) {
      out.push(decodeDelta(await cache.getBlobClient(item.name).downloadToBuffer()));
    }
    return out.filter((d) => !d.heartbeat).sort((a, b) => a.sequence - b.sequence);
  }

  async function configBlob(vm: Vm): Promise<Record<string, unknown>> {
    const body = await configs.getBlobClient(`${vm.vmId}.json`).downloadToBuffer();
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  }

  function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, [CLI, ...args, '--source-storage', azurite().connectionString], {
      encoding: 'utf8',
    });
  }

  /** Writes, asks for a bookmark with `bookmark`, writes again; the first delta ends at the bookmark. */
  async function expectBookmarkedDelta(vm: Vm, bookmark: () => Promise<void>): Promise<void> {
    const r = await startAgent(vm);
    await until(r, 'replication on', () => r.agent.status().generation === 1);
    await write(r, 'os', 'write -P 0x41 0 4k');
    await write(r, 'data', 'write -P 0x42 8k 4k');
    await bookmark();
    await until(r, 'the bookmark', () => r.logger.records.some((l) => /App-consistent bookmark/.test(l.msg)));
    await write(r, 'os', 'write -P 0x43 64k 4k');
    await r.clock.advance(600_000);
    await until(r, 'everything shipped', () => r.agent.status().heldBytes === 0);

    const shipped = await deltas(vm);
    expect(shipped.map((d) => d.appConsistent)).toEqual([true, false]);
    expect(shipped[0]!.entries.map((e) => [e.disk, e.offset])).toEqual([
      [0, 0],
      [1, 8192],
    ]);
    expect(shipped[1]!.entries.map((e) => [e.disk, e.offset])).toEqual([[0, 65536]]);
    await r.agent.stop();
  }

  it('bumpAppConsistentRequest: the agent flags the delta ending at the request app-consistent', async () => {
    const vm = await makeVm();
    await expectBookmarkedDelta(vm, async () => {
      expect(await bumpAppConsistentRequest(configs, vm.rg, 'vm1')).toBe(1);
    });
    expect(await configBlob(vm)).toMatchObject({ ...SLOW, generation: 1, appConsistentRequest: 1 });
  });

  it('tidemark-agent bookmark: bumps the counter, and the agent flags its next delta', async () => {
    const vm = await makeVm();
    await expectBookmarkedDelta(vm, async () => {
      const result = cli(['bookmark', '--vm', vm.vmId]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(`^Bookmark requested for ${vm.vmId} \\(appConsistentRequest 1\\); the agent flags`),
      );
    });
    const again = cli(['bookmark', '--vm', vm.vmId]);
    expect(again.stdout).toMatch(/appConsistentRequest 2\)/);
  });

  it('says replication is not enabled when the VM has no agent config (NotFound, exit 1)', async () => {
    const vm = await makeVm(false);
    const error = await bumpAppConsistentRequest(configs, vm.rg, 'vm1').catch((err: unknown) => err);
    expect(isTidemarkError(error, 'NotFound')).toBe(true);
    expect((error as Error).message).toBe(`replication is not enabled for ${vm.vmId}`);

    const result = cli(['bookmark', '--vm', vm.vmId]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`replication is not enabled for ${vm.vmId}`);
    expect(result.stdout).toBe('');
  });

  it('counts every one of concurrent requests (ETag-conditional) and keeps fields it does not know', async () => {
    const vm = await makeVm();
    const blob = configs.getBlockBlobClient(`${vm.vmId}.json`);
    const withExtra = JSON.stringify({
      ...(await configBlob(vm)),
      appConsistentRequest: 10,
      comment: 'keep me',
    });
    await blob.upload(withExtra, Buffer.byteLength(withExtra));
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => bumpAppConsistentRequest(configs, vm.rg, 'vm1')),
    );
    expect([...results].sort((a, b) => a - b)).toEqual([11, 12, 13, 14]);
    expect(await configBlob(vm)).toMatchObject({ appConsistentRequest: 14, comment: 'keep me', ...SLOW });
  });

  it('refuses to bump an invalid config and leaves it as it is', async () => {
    const vm = await makeVm(false);
    const blob = configs.getBlockBlobClient(`${vm.vmId}.json`);
    const broken = JSON.stringify({ version: 2, vmId: vm.vmId, generation: 0, cache: 'x' });
    await blob.upload(broken, broken.length);
    await expect(bumpAppConsistentRequest(configs, vm.rg, 'vm1')).rejects.toMatchObject({
      code: 'InvalidConfig',
      message: /generation/,
    });
    expect((await blob.downloadToBuffer()).toString()).toBe(broken);
  });
});
