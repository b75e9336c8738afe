/**
 * `tidemark-agent run --nbd-socket PATH` as a child process against real Azurite: the
 * `nbd+unix:///?socket=PATH` ready line, qemu-io and nbdinfo through the socket, the built-in
 * workload (`--workload`) journaled and shipped like NBD writes, the socket gone after SIGTERM, and
 * flag mistakes. Runs dist/agent/cli.js, rebuilt first when older than the sources.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { parseWorkloadSpec, WorkloadPlan } from '../../../agent/workload';
import { writeAgentConfig } from '../../../shared/agentConfig';
import { decodeDelta, type DeltaEntry } from '../../../shared/delta';
import { CONTAINERS } from '../../../shared/storageNames';
import { createVmDisk } from '../../../shared/vmDisks';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';
import { checkTools, runTool, runToolOk } from '../../helpers/nbdTools';
import { ensureBuilt as ensureBuiltCli } from '../../helpers/builtCli';
import { type CliProcess, killAll, runCli } from '../../helpers/cliProcess';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist/agent/cli.js');
const tools = checkTools('qemu-io', 'nbdinfo');
const MiB = 1024 * 1024;
const SIZES = [4 * MiB, MiB];

function ensureBuilt(): void {
  ensureBuiltCli(CLI, ['agent', 'shared']);
}

type Agent = CliProcess;

describe.skipIf(tools.skip)(`tidemark-agent on a unix socket, with a workload${tools.note}`, () => {
  const azurite = useAzurite();
  let dir: string;

  beforeAll(() => {
    tools.assertAvailable();
    ensureBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-unix-cli-'));
  }, 120_000);
  afterEach(() => {
    killAll();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function runAgent(args: string[]): Agent {
    return runCli(CLI, ['run', ...args], { TIDEMARK_SOURCE_STORAGE: azurite().connectionString });
  }

  async function makeVm(): Promise<string> {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const rg = uniqueName('rg');
    const disks = service.getContainerClient(CONTAINERS.disks);
    await createVmDisk(disks, rg, 'vm1', 'os', 0, SIZES[0]!);
    await createVmDisk(disks, rg, 'vm1', 'data', 1, SIZES[1]!);
    await service.getContainerClient(CONTAINERS.cache).createIfNotExists();
    await writeAgentConfig(
      service.getContainerClient(CONTAINERS.agentConfig),
      testAgentConfig(azurite().connectionString, { resourceGroup: rg, vm: 'vm1' }),
    );
    return `${rg}/vm1`;
  }

  async function shippedEntries(vmId: string): Promise<DeltaEntry[]> {
    const cache = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      CONTAINERS.cache,
    );
    const deltas = [];
    for await (const item of cache.listBlobsFlat({ prefix: `${vmId}/1/` })) {
      deltas.push(decodeDelta(await cache.getBlobClient(item.name).downloadToBuffer()));
    }
    return deltas.sort((a, b) => a.sequence - b.sequence).flatMap((d) => d.entries);
  }

  it('serves NBD on the socket and ships the seeded workload and NBD writes on SIGTERM', async () => {
    const vmId = await makeVm();
    const socketPath = path.join(dir, 'agent.sock');
    const agent = runAgent([
      ...['--vm', vmId, '--state-dir', path.join(dir, 'state'), '--nbd-socket', socketPath],
      ...['--workload', 'sequential', '--rate', '4', '--seed', '7', '--workload-duration', '0.5'],
    ]);
    const ready = await agent.line(/^Agent ready: /);
    expect(ready).toBe(`Agent ready: nbd+unix:///?socket=${socketPath} (exports: os, data)`);
    const sizes = await runToolOk('nbdinfo', ['--json', '--list', `nbd+unix:///?socket=${socketPath}`]);
    expect(sizes).toContain('"export-name": "data"');
    const io = await runTool('qemu-io', [
      '-f',
      'raw',
      `nbd+unix:///data?socket=${socketPath}`,
      '-c',
      'write -P 0x7e 0 4k',
    ]);
    expect(io.code, io.stdout + io.stderr).toBe(0);

    const finished = JSON.parse(await agent.line(/"msg":"Workload finished"/)) as {
      bytes: number;
      writes: number;
      stoppedBy: string;
    };
    expect(finished.stoppedBy).toBe('duration');
    expect(finished.bytes).toBeGreaterThan(1_000_000);
    expect(finished.bytes).toBeLessThan(2_700_000);
    agent.child.kill('SIGTERM');
    expect(await agent.exit, agent.stderr()).toBe(0);
    expect(fs.existsSync(socketPath)).toBe(false);

    // Every workload write is shipped, in the seeded plan's order, around the one qemu-io write.
    const entries = await shippedEntries(vmId);
    const nbdWrite = entries.findIndex(
      (e) => 'data' in e && e.data.length === 4096 && e.data.every((b) => b === 0x7e),
    );
    expect(nbdWrite).toBeGreaterThanOrEqual(0);
    const workload = entries.filter((_, i) => i !== nbdWrite);
    expect(workload).toHaveLength(finished.writes);
    const plan = new WorkloadPlan(parseWorkloadSpec({ pattern: 'sequential', rateMBps: 4, seed: 7 }), SIZES);
    for (const entry of workload) {
      const expected = plan.next();
      expect([entry.disk, entry.offset]).toEqual([expected.disk, expected.offset]);
      expect('data' in entry && entry.data.equals(expected.data)).toBe(true);
    }
  });

  it('explains flag mistakes and exits 1', () => {
    const env = { ...process.env, TIDEMARK_SOURCE_STORAGE: azurite().connectionString };
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'run', '--vm', 'rg/vm', ...args], { encoding: 'utf8', env });
    const both = run(['--nbd-socket', path.join(dir, 'x.sock'), '--nbd-port', '10809']);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/'--nbd-socket <path>' cannot be used with option '--nbd-port <n>'/);
    const stray = run(['--rate', '5']);
    expect(stray.status).toBe(1);
    expect(stray.stderr).toMatch(/--rate, --seed and --workload-duration need --workload/);
    const badRate = run(['--workload', 'hotspot', '--rate', '0']);
    expect(badRate.status).toBe(1);
    expect(badRate.stderr).toMatch(/Use a rate above 0, e\.g\. 10/);
    const badPattern = run(['--workload', 'zigzag']);
    expect(badPattern.status).toBe(1);
    expect(badPattern.stderr).toMatch(/Allowed choices are sequential, random4k, hotspot/);
  });
});
