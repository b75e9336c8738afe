#!/usr/bin/env node
/**
 * `npm start`: tidemark on one machine. Two Azurite instances stand for the two regions (source
 * `eastus`, target `westus`; data kept under .data/azurite/), and the local Functions host runs
 * tidemark's app against them on port 7071. Then the demo fabric is seeded (docs/fabric.md) and a
 * VM runner per region keeps a mobility agent, with its disks on NBD, for every running VM.
 * Ctrl-C stops everything: the agents first (they ship what they journaled), then the host.
 */
import path from 'node:path';

import { type LocalVms, startLocalVms } from '../local/localVms';
import { TidemarkError } from '../shared/errors';
import { createPinoLogger } from '../shared/pinoLogger';
import { loadSettings } from '../shared/settings';
import { type AzuriteInstance, startAzurite } from './azurite';
import type { HostJson } from './hostJson';
import type { TriggerPlugin } from './plugin';
import { startHost } from './startHost';
import { defaultPlugins } from './triggers';

interface RegionSpec {
  name: string;
  ports: { blob: number; queue: number; table: number };
}

function portsFrom(base: number): { blob: number; queue: number; table: number } {
  return { blob: base, queue: base + 1, table: base + 2 };
}

/** Where the portal function answers: `/<routePrefix>/portal/` (host.json `extensions.http.routePrefix`). */
function portalPath(hostJson: HostJson): string {
  const http = hostJson.extensions?.http;
  const entry =
    http && typeof http === 'object'
      ? Object.entries(http as Record<string, unknown>).find(([k]) => k.toLowerCase() === 'routeprefix')
      : undefined;
  const prefix = typeof entry?.[1] === 'string' ? entry[1].replace(/^\/+|\/+$/g, '') : 'api';
  return prefix ? `/${prefix}/portal/` : '/portal/';
}

/**
 * `GET /` redirects to the portal (docs/portal.md). A function cannot answer `/` under the `api`
 * route prefix, in Azure or here, so only `npm start` adds this, ahead of the HTTP trigger plugin.
 */
function portalRedirect(): TriggerPlugin {
  return {
    name: 'portal-redirect',
    triggerTypes: [],
    init(services) {
      const location = portalPath(services.hostJson);
      services.http.use(async (req, res, url) => {
        if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
        res.writeHead(302, { location, 'cache-control': 'no-cache', 'content-length': 0 });
        res.end();
        return true;
      });
    },
    async start() {},
    async stop() {},
  };
}

async function main(): Promise<void> {
  const appDir = path.resolve(__dirname, '..', '..');
  const dataDir = path.join(appDir, '.data');
  // Every setting, validated before anything starts (shared/settings.ts, docs/settings.md).
  const env = loadSettings(process.env).values;
  const logger = createPinoLogger({ name: 'tidemark', level: env.TIDEMARK_LOG_LEVEL });
  const regions: RegionSpec[] = [
    { name: env.TIDEMARK_SOURCE_REGION, ports: portsFrom(env.TIDEMARK_SOURCE_PORT_BASE) },
    { name: env.TIDEMARK_TARGET_REGION, ports: portsFrom(env.TIDEMARK_TARGET_PORT_BASE) },
  ];
  const azurites: AzuriteInstance[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(azurites.map((a) => a.stop()));
  };
  try {
    for (const region of regions) {
      azurites.push(
        await startAzurite({
          name: region.name,
          location: path.join(dataDir, 'azurite', region.name),
          blobPort: region.ports.blob,
          queuePort: region.ports.queue,
          tablePort: region.ports.table,
          logger,
        }),
      );
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const [source, target] = azurites as [AzuriteInstance, AzuriteInstance];
  const port = env.TIDEMARK_PORT;
  const settings = {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: target.connectionString,
    TIDEMARK_SOURCE_REGION: regions[0]!.name,
    TIDEMARK_TARGET_REGION: regions[1]!.name,
    TIDEMARK_SOURCE_STORAGE: source.connectionString,
    TIDEMARK_TARGET_STORAGE: target.connectionString,
    TIDEMARK_TASK_HUB: env.TIDEMARK_TASK_HUB,
    // Idle demo VMs (a failed-over one replicating back) get their first recovery point in seconds.
    TIDEMARK_AGENT_HEARTBEAT_MS: '5000',
  };
  const host = startHost({
    appDir,
    port,
    logger,
    dataDir: path.join(dataDir, 'host'),
    settings,
    plugins: [portalRedirect(), ...defaultPlugins()],
  });
  try {
    await host.ready;
  } catch (err) {
    await stopAll();
    throw err;
  }

  let vms: LocalVms;
  try {
    vms = await startLocalVms({ settings, dataDir, sourceRegion: regions[0]!.name, logger });
  } catch (err) {
    await host.dispose();
    await stopAll();
    throw err;
  }

  process.stdout.write(`Host ready: ${host.url}\n`);
  process.stdout.write(`Portal:     ${host.url}/ (${host.url}${portalPath(host.services.hostJson)})\n`);
  process.stdout.write(`Health:     ${host.url}/api/health\n`);
  process.stdout.write(
    `Regions:    ${regions[0]!.name} (blob :${source.blobPort}), ${regions[1]!.name} (blob :${target.blobPort})\n`,
  );
  process.stdout.write(`Function key: ${host.keys.functionKey}\nMaster key:   ${host.keys.masterKey}\n`);
  process.stdout.write(vms.banner);
  process.stdout.write('Press Ctrl-C to stop.\n');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      process.stderr.write('Forced exit.\n');
      process.exit(1);
    }
    stopping = true;
    logger.info('Stopping', { signal });
    // A stop that hangs (storage gone, a stuck invocation) must not keep the terminal hostage.
    setTimeout(() => {
      process.stderr.write('Still stopping after 60 s; exiting. Press Ctrl-C twice to exit at once.\n');
      process.exit(1);
    }, 60_000).unref();
    void (async () => {
      await vms.stop();
      await host.dispose();
      await stopAll();
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  const e = err instanceof TidemarkError ? err : undefined;
  process.stderr.write(`✘ ERROR ${e?.code ?? 'Internal'}: ${(err as Error)?.message ?? String(err)}\n`);
  if (e?.hint) process.stderr.write(`  How to fix: ${e.hint}\n`);
  process.exit(e?.kind === 'user' ? 1 : 2);
});
