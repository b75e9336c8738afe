/**
 * The data plane end to end: Debian's qemu-io writes through the mobility agent's NBD export; the
 * agent ships deltas to the cache (source Azurite); the local host runs tidemark's applyDelta blob
 * trigger, which writes the replicas (target Azurite). The replicas must converge byte for byte.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { RecordingLogger } from '../../../shared/logger';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { protectVmByHand, startTidemarkStack, type TidemarkStack } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 8 * MiB },
  { name: 'data', lun: 1, sizeBytes: 4 * MiB },
];

describe.skipIf(tools.skip)(`data plane: qemu-io → agent → cache → applyDelta → replica${tools.note}`, () => {
  let stack: TidemarkStack;
  let agent: MobilityAgent;
  let nbdPort: number;

  beforeAll(async () => {
    // The sweep would also apply deltas; off, so this test proves the blob trigger path.
    stack = await startTidemarkStack({ 'AzureWebJobs.sweepCache.Disabled': 'true' });
    await protectVmByHand(stack, { resourceGroup: 'rg1', vm: 'web1', disks: DISKS, flushIntervalMs: 200 });
    agent = new MobilityAgent({
      resourceGroup: 'rg1',
      vm: 'web1',
      sourceConnectionString: stack.source.connectionString,
      stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-agent-')),
      logger: new RecordingLogger(),
      configPollIntervalMs: 200,
    });
    await agent.start();
    nbdPort = agent.status().nbd.port;
  });

  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  async function disksEqual(): Promise<boolean> {
    const source = BlobServiceClient.fromConnectionString(stack.source.connectionString);
    const target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
    for (const d of DISKS) {
      const [a, b] = await Promise.all([
        source.getContainerClient(CONTAINERS.disks).getBlobClient(`rg1/web1/${d.name}`).downloadToBuffer(),
        target.getContainerClient(CONTAINERS.replicas).getBlobClient(`rg1/web1/${d.name}`).downloadToBuffer(),
      ]);
      if (!a.equals(b)) return false;
    }
    return true;
  }

  it('replicas converge byte for byte with the source disks', async () => {
    const osCommands = [
      'write -P 10 0 64k',
      'write -P 11 1000 3001',
      'write -P 12 4M 1M',
      'write -z 4224k 8k',
      'discard 64k 64k',
      'write -P 13 8380416 4096',
    ];
    const dataCommands = [
      'write -P 40 0 64k',
      'write -P 41 1000 3001',
      'write -z 2048k 8k',
      'discard 32k 64k',
    ];
    const [osResult, dataResult] = await Promise.all([
      qemuIo(nbdPort, 'os', osCommands),
      qemuIo(nbdPort, 'data', dataCommands),
    ]);
    expect(osResult.code, osResult.stderr).toBe(0);
    expect(dataResult.code, dataResult.stderr).toBe(0);
    await waitFor(() => disksEqual(), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'replicas to match the source',
    });
    const item = await TableProtectedItemStore.fromConnectionString(stack.target.connectionString).get(
      'rg1',
      'web1',
    );
    expect(item?.watermark).toBeGreaterThan(0);
    expect(item?.stats?.bytesApplied).toBeGreaterThan(0);
    // The replica can match before the invocation that wrote it has returned and logged.
    await waitFor(() => stack.logger.records.some((r) => r.msg === "Executed 'applyDelta' (Succeeded)"), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'an applyDelta invocation to be logged as Succeeded',
    });
    expect(stack.logger.records.filter((r) => r.msg === "Executed 'applyDelta' (Failed)")).toEqual([]);
  });

  it('keeps converging under a second burst of writes', async () => {
    const writes = Array.from({ length: 20 }, (_, i) => `write -P ${100 + i} ${(i * 37 + 5) * 4096} 4096`);
    expect((await qemuIo(nbdPort, 'data', writes)).code).toBe(0);
    await waitFor(() => disksEqual(), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'replicas to match again',
    });
  });
});
