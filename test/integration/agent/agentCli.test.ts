/**
 * `tidemark-agent` as a child process against real Azurite: the ready line, a qemu-io write that a
 * SIGTERM still ships, the status command, a forced second signal and bad flags. Runs
 * dist/agent/cli.js, rebuilding dist first when it is older than the sources (`npm test` builds).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type AgentStatus, writeAgentConfig } from '../../../shared/agentConfig';
import { decodeDelta } from '../../../shared/delta';
import { CONTAINERS } from '../../../shared/storageNames';
import { createVmDisk } from '../../../shared/vmDisks';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { ensureBuilt as ensureBuiltCli } from '../../helpers/builtCli';
import { type CliProcess, killAll, runCli } from '../../helpers/cliProcess';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist/agent/cli.js');
const tools = checkTools('qemu-io');

function ensureBuilt(): void {
  ensureBuiltCli(CLI, ['agent', 'shared']);
}

type Running = CliProcess;

function run(args: string[], env: Record<string, string> = {}): Running {
  return runCli(CLI, args, env);
}

describe.skipIf(tools.skip)(`tidemark-agent CLI${tools.note}`, () => {
  const azurite = useAzurite();
  let stateRoot: string;

  beforeAll(() => {
    tools.assertAvailable();
    ensureBuilt();
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-agent-cli-'));
  }, 120_000);
  afterEach(() => {
    killAll();
  });
  afterAll(() => fs.rmSync(stateRoot, { recursive: true, force: true }));

  /** A VM whose agent config points at the cache, or at `cachePort` on this machine. */
  async function makeVm(cachePort?: number): Promise<{ rg: string; vmId: string }> {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const rg = uniqueName('rg');
    const disks = service.getContainerClient(CONTAINERS.disks);
    await createVmDisk(disks, rg, 'vm1', 'os', 0, 4 * 1024 * 1024);
    await createVmDisk(disks, rg, 'vm1', 'data', 1, 1024 * 1024);
    await service.getContainerClient(CONTAINERS.cache).createIfNotExists();
    await writeAgentConfig(
      service.getContainerClient(CONTAINERS.agentConfig),
      testAgentConfig(azurite().connectionString, {
        resourceGroup: rg,
        vm: 'vm1',
        ...(cachePort === undefined ? {} : { port: cachePort }),
      }),
    );
    return { rg, vmId: `${rg}/vm1` };
  }

  function runAgent(vmId: string, extra: string[] = []): Running {
    return run(
      [
        'run',
        '--vm',
        vmId,
        '--nbd-port',
        '0',
        '--state-dir',
        path.join(stateRoot, vmId.split('/')[0]!),
        ...extra,
      ],
      { TIDEMARK_SOURCE_STORAGE: azurite().connectionString },
    );
  }

  it('prints the ready line, serves qemu-io, and ships every write on SIGTERM before exiting 0', async () => {
    const { rg, vmId } = await makeVm();
    const agent = runAgent(vmId);
    const ready = await agent.line(/^Agent ready: /);
    const match = /^Agent ready: nbd:\/\/127\.0\.0\.1:(\d+) \(exports: os, data\)$/.exec(ready);
    expect(match, ready).not.toBeNull();
    const port = Number(match![1]);
    const result = await qemuIo(port, 'data', ['write -P 0x7e 4096 8k']);
    expect(result.code, result.stdout + result.stderr).toBe(0);

    agent.child.kill('SIGTERM');
    expect(await agent.exit, agent.stderr()).toBe(0);
    const cache = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      CONTAINERS.cache,
    );
    const entries = [];
    for await (const item of cache.listBlobsFlat({ prefix: `${vmId}/1/` })) {
      entries.push(...decodeDelta(await cache.getBlobClient(item.name).downloadToBuffer()).entries);
    }
    expect(entries.map((e) => [e.disk, e.offset])).toEqual([[1, 4096]]);

    const status = spawnSync(
      process.execPath,
      [CLI, 'status', '--vm', vmId, '--source-storage', azurite().connectionString],
      {
        encoding: 'utf8',
      },
    );
    expect(status.status, status.stderr).toBe(0);
    const reported = JSON.parse(status.stdout) as AgentStatus;
    expect(reported).toMatchObject({ vmId: `${rg}/vm1`, generation: 1, health: 'Stopped', lastSequence: 1 });
    expect(reported.resyncReason).toBeUndefined();
  });

  it('exits 1 at once on a second signal while the cache cannot be reached', async () => {
    const { vmId } = await makeVm(9);
    const agent = runAgent(vmId, ['--log-level', 'info']);
    const port = Number(/:(\d+) /.exec(await agent.line(/^Agent ready: /))![1]);
    const result = await qemuIo(port, 'os', ['write -P 1 0 4k']);
    expect(result.code).toBe(0);
    agent.child.kill('SIGTERM');
    await agent.line(/SIGTERM received/);
    agent.child.kill('SIGINT');
    expect(await agent.exit).toBe(1);
    expect(agent.stderr()).toMatch(/SIGINT again/);
  });

  it('explains bad flags and a missing VM, and exits 1', () => {
    const noVm = spawnSync(process.execPath, [CLI, 'run', '--source-storage', 'x'], { encoding: 'utf8' });
    expect(noVm.status).toBe(1);
    expect(noVm.stderr).toMatch(/required option '--vm <rg\/name>'/);

    const badVm = spawnSync(process.execPath, [CLI, 'run', '--vm', 'novm', '--source-storage', 'x'], {
      encoding: 'utf8',
    });
    expect(badVm.status).toBe(1);
    expect(badVm.stderr).toMatch(/RESOURCE_GROUP\/NAME/);

    const noStorage = spawnSync(process.execPath, [CLI, 'run', '--vm', 'rg/vm'], {
      encoding: 'utf8',
      env: { ...process.env, TIDEMARK_SOURCE_STORAGE: '' },
    });
    expect(noStorage.status).toBe(1);
    expect(noStorage.stderr).toMatch(/--source-storage/);

    const missing = spawnSync(
      process.execPath,
      [
        CLI,
        'run',
        '--vm',
        'nosuchrg/vm',
        '--source-storage',
        azurite().connectionString,
        '--state-dir',
        stateRoot,
      ],
      { encoding: 'utf8' },
    );
    expect(missing.status, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/has no disks/);
    expect(missing.stdout).not.toMatch(/Agent ready/);
  });
});
