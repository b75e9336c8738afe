/**
 * Starts tidemark's own app (the compiled dist/, as `npm test` builds it first) in the local host
 * against two in-memory Azurites standing for the source and target regions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startAzurite, type AzuriteInstance } from '../../host/azurite';
import { type HostHandle, startHost } from '../../host/startHost';
import { RecordingLogger } from '../../shared/logger';
import type { ReplicatedDiskInfo } from '../../shared/protectedItems';
import { protectByHand } from './handProtect';

/** The repository root (where host.json is), from the sources or from their compiled copy in dist/. */
function findRepoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'host.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`No host.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();

export interface TidemarkStack {
  source: AzuriteInstance;
  target: AzuriteInstance;
  host: HostHandle;
  logger: RecordingLogger;
  stop(): Promise<void>;
}

export async function startTidemarkStack(extraSettings: Record<string, string> = {}): Promise<TidemarkStack> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it for you).');
  }
  const [source, target] = await Promise.all([
    startAzurite({ name: 'eastus' }),
    startAzurite({ name: 'westus' }),
  ]);
  const logger = new RecordingLogger();
  const host = startHost({
    appDir: REPO_ROOT,
    port: 0,
    logger,
    useProcessEnv: false,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-host-')),
    settings: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: target.connectionString,
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_TARGET_REGION: 'westus',
      TIDEMARK_SOURCE_STORAGE: source.connectionString,
      TIDEMARK_TARGET_STORAGE: target.connectionString,
      TIDEMARK_TASK_HUB: 'tidemarktest',
      TIDEMARK_BLOB_POLL_INTERVAL_MS: '100',
      ...extraSettings,
    },
  });
  try {
    await host.ready;
  } catch (err) {
    await Promise.all([source.stop(), target.stop()]);
    throw err;
  }
  return {
    source,
    target,
    host,
    logger,
    stop: async () => {
      await host.dispose();
      await Promise.all([source.stop(), target.stop()]);
    },
  };
}

export interface HandProtectedVm {
  resourceGroup: string;
  vm: string;
  disks: ReplicatedDiskInfo[];
  /** The agent's flush interval (ms). */
  flushIntervalMs: number;
}

/**
 * Protects a VM with empty disks without the enable workflow: source disks, empty replicas (the
 * initial copy of an empty disk), a `Protected` item applying deltas, and the agent config with its
 * cache credentials, so an agent started for the VM replicates at once.
 */
export async function protectVmByHand(stack: TidemarkStack, spec: HandProtectedVm): Promise<void> {
  await protectByHand(
    { source: stack.source.connectionString, target: stack.target.connectionString },
    {
      resourceGroup: spec.resourceGroup,
      vm: spec.vm,
      disks: spec.disks,
      agent: { flushIntervalMs: spec.flushIntervalMs },
    },
  );
}
