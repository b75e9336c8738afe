#!/usr/bin/env node
/**
 * `tidemark-agent run --vm RG/NAME --source-storage CS [--nbd-host H] [--nbd-port N | --nbd-socket PATH]
 * [--state-dir DIR] [--workload PATTERN --rate MBPS --seed N --workload-duration SECONDS]` runs a VM's
 * mobility agent; it prints `Agent ready: nbd://HOST:PORT (exports: a, b)` (or
 * `nbd+unix:///?socket=PATH`) once the disks are served. SIGINT/SIGTERM stop it cleanly (writes in
 * flight are shipped) and exit 0; a second signal exits 1 at once. `tidemark-agent status` prints the
 * status the agent last wrote to the cache (locally the cache lives in the source account);
 * `tidemark-agent bookmark` asks the agent for an app-consistent bookmark.
 * Exit codes: 0 done, 1 user error (flags, config, no such VM), 2 system error.
 */
import path from 'node:path';

import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { Command, InvalidArgumentError, Option } from 'commander';

import { agentStatusBlobName, bumpAppConsistentRequest } from '../shared/agentConfig';
import { vmIdProblem } from '../shared/delta/vmId';
import { isTidemarkError, TidemarkError } from '../shared/errors';
import { createPinoLogger } from '../shared/pinoLogger';
import { CONTAINERS } from '../shared/storageNames';
import { MobilityAgent } from './agent';
import { type WorkloadPattern, type WorkloadSpec } from './workload';

interface Vm {
  resourceGroup: string;
  vm: string;
}

interface CommonOptions {
  vm: Vm;
  sourceStorage: string;
}

interface RunOptions extends CommonOptions {
  nbdHost: string;
  nbdPort: number;
  nbdSocket?: string;
  stateDir: string;
  logLevel: string;
  workload?: WorkloadPattern;
  rate?: number;
  seed?: number;
  workloadDuration?: number;
}

function parseVm(value: string): Vm {
  const problem = vmIdProblem(value);
  if (problem) throw new InvalidArgumentError(`The VM "${value}" ${problem}; use RESOURCE_GROUP/NAME.`);
  const [resourceGroup, vm] = value.split('/') as [string, string];
  return { resourceGroup, vm };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('Use a port number from 0 to 65535 (0 picks a free port).');
  }
  return port;
}

function parsePositive(what: string, example: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) {
      throw new InvalidArgumentError(`Use ${what} above 0, e.g. ${example}.`);
    }
    return n;
  };
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || seed > 0xffff_ffff) {
    throw new InvalidArgumentError('Use an integer from 0 to 4294967295.');
  }
  return seed;
}

/** The workload flags as a spec; they mean nothing without --workload. */
function workloadSpec(options: RunOptions): WorkloadSpec | undefined {
  if (!options.workload) {
    const stray = (['rate', 'seed', 'workloadDuration'] as const).filter((k) => options[k] !== undefined);
    if (stray.length > 0) {
      throw new TidemarkError('InvalidArgument', '--rate, --seed and --workload-duration need --workload.', {
        hint: 'Add --workload sequential|random4k|hotspot, or drop them.',
      });
    }
    return undefined;
  }
  return {
    pattern: options.workload,
    rateMBps: options.rate ?? 10,
    seed: options.seed ?? 1,
    ...(options.workloadDuration !== undefined
      ? { durationMs: Math.round(options.workloadDuration * 1000) }
      : {}),
  };
}

function sourceService(options: CommonOptions): BlobServiceClient {
  try {
    return BlobServiceClient.fromConnectionString(options.sourceStorage);
  } catch (err) {
    throw new TidemarkError(
      'InvalidArgument',
      `--source-storage is not a storage connection string: ${(err as Error).message}`,
      {
        hint: 'Pass the source storage account connection string (or set TIDEMARK_SOURCE_STORAGE).',
      },
    );
  }
}

function describeError(err: unknown): { text: string; exitCode: number } {
  if (isTidemarkError(err)) {
    return {
      text: err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message,
      exitCode: err.isUserError ? 1 : 2,
    };
  }
  return { text: (err as Error)?.message ?? String(err), exitCode: 2 };
}

function fail(err: unknown): never {
  const { text, exitCode } = describeError(err);
  process.stderr.write(`tidemark-agent: ${text}\n`);
  process.exit(exitCode);
}

async function run(options: RunOptions): Promise<void> {
  sourceService(options);
  const workload = workloadSpec(options);
  const logger = createPinoLogger({ name: 'agent', level: options.logLevel });
  const agent = new MobilityAgent({
    resourceGroup: options.vm.resourceGroup,
    vm: options.vm.vm,
    sourceConnectionString: options.sourceStorage,
    stateDir: path.resolve(options.stateDir),
    nbd:
      options.nbdSocket !== undefined
        ? { socketPath: path.resolve(options.nbdSocket) }
        : { host: options.nbdHost, port: options.nbdPort },
    ...(workload ? { workload } : {}),
    logger,
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`tidemark-agent: ${signal} again; exiting without shipping what is left.\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal} received; stopping (writes in flight are shipped first)`);
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => fail(err),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await agent.start();
  } catch (err) {
    fail(err);
  }
  if (stopping) return;
  process.stdout.write(`Agent ready: ${agent.nbdUri} (exports: ${agent.status().nbd.exports.join(', ')})\n`);
}

async function status(options: CommonOptions): Promise<void> {
  const { resourceGroup, vm } = options.vm;
  const blob = sourceService(options)
    .getContainerClient(CONTAINERS.cache)
    .getBlobClient(agentStatusBlobName(resourceGroup, vm));
  let body: Buffer;
  try {
    body = await blob.downloadToBuffer();
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) {
      throw new TidemarkError(
        'NotFound',
        `No agent status for ${resourceGroup}/${vm} in ${CONTAINERS.cache}.`,
        {
          hint: 'The agent writes it once replication is enabled for the VM.',
        },
      );
    }
    throw err;
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(body.toString('utf8')), null, 2)}\n`);
}

async function bookmark(options: CommonOptions): Promise<void> {
  const { resourceGroup, vm } = options.vm;
  const configs = sourceService(options).getContainerClient(CONTAINERS.agentConfig);
  const request = await bumpAppConsistentRequest(configs, resourceGroup, vm);
  process.stdout.write(
    `Bookmark requested for ${resourceGroup}/${vm} (appConsistentRequest ${request}); the agent flags its next delta app-consistent after its next config poll.\n`,
  );
}

function program(): Command {
  const vmOption = (): Option =>
    new Option('--vm <rg/name>', 'the VM: RESOURCE_GROUP/NAME').argParser(parseVm).makeOptionMandatory();
  const storageOption = (): Option =>
    new Option('--source-storage <connection-string>', 'source storage account (disks, agent config)')
      .env('TIDEMARK_SOURCE_STORAGE')
      .makeOptionMandatory();
  const cli = new Command()
    .name('tidemark-agent')
    .description("tidemark's mobility agent: serves a VM's disks over NBD and replicates their writes.")
    .showHelpAfterError('(run tidemark-agent --help for usage)');
  cli
    .command('run')
    .description('serve the VM disks over NBD and ship every write while replication is enabled')
    .addOption(vmOption())
    .addOption(storageOption())
    .option('--nbd-host <host>', 'address the NBD server listens on', '127.0.0.1')
    .option('--nbd-port <n>', 'NBD port; 0 picks a free one', parsePort, 0)
    .addOption(
      new Option('--nbd-socket <path>', 'serve NBD on this unix socket instead of TCP').conflicts([
        'nbdHost',
        'nbdPort',
      ]),
    )
    .option('--state-dir <dir>', 'where sequence numbers are kept; keep it stable', '.data/agent')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .addOption(
      new Option('--workload <pattern>', 'also run the built-in write generator on the VM disks').choices([
        'sequential',
        'random4k',
        'hotspot',
      ]),
    )
    .option('--rate <MBps>', 'workload rate in MB/s (10^6 bytes; default 10)', parsePositive('a rate', '10'))
    .option('--seed <n>', 'workload seed: same seed, same writes (default 1)', parseSeed)
    .option(
      '--workload-duration <seconds>',
      'stop the workload after this long (default: when the agent stops)',
      parsePositive('a number of seconds', '60'),
    )
    .action((options: RunOptions) => run(options).catch(fail));
  cli
    .command('bookmark')
    .description("ask the VM's agent to flag its next delta app-consistent (after its next config poll)")
    .addOption(vmOption())
    .addOption(storageOption())
    .action((options: CommonOptions) => bookmark(options).catch(fail));
  cli
    .command('status')
    .description('print the status the agent last wrote to the cache')
    .addOption(vmOption())
    .addOption(storageOption())
    .action((options: CommonOptions) => status(options).catch(fail));
  return cli;
}

program().parseAsync(process.argv).catch(fail);
