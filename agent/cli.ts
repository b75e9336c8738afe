#!/usr/bin/env node
/**
 * `tidemark-agent run --vm RG/NAME --source-storage CS [--nbd-host H] [--nbd-port N] [--state-dir DIR]`
 * runs a VM's mobility agent; it prints `Agent ready: nbd://HOST:PORT (exports: a, b)` once the disks
 * are served. SIGINT/SIGTERM stop it cleanly (writes in flight are shipped) and exit 0; a second
 * signal exits 1 at once. `tidemark-agent status --vm RG/NAME --source-storage CS` prints the status
 * the agent last wrote to the cache (locally the cache lives in the source account).
 * Exit codes: 0 done, 1 user error (flags, config, no such VM), 2 system error.
 */
import path from 'node:path';

import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { Command, InvalidArgumentError, Option } from 'commander';

import { agentStatusBlobName } from '../shared/agentConfig';
import { vmIdProblem } from '../shared/delta/vmId';
import { isTidemarkError, TidemarkError } from '../shared/errors';
import { createPinoLogger } from '../shared/pinoLogger';
import { CONTAINERS } from '../shared/storageNames';
import { MobilityAgent } from './agent';

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
  stateDir: string;
  logLevel: string;
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
  const logger = createPinoLogger({ name: 'agent', level: options.logLevel });
  const agent = new MobilityAgent({
    resourceGroup: options.vm.resourceGroup,
    vm: options.vm.vm,
    sourceConnectionString: options.sourceStorage,
    stateDir: path.resolve(options.stateDir),
    nbd: { host: options.nbdHost, port: options.nbdPort },
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
  const { nbd } = agent.status();
  process.stdout.write(`Agent ready: nbd://${nbd.host}:${nbd.port} (exports: ${nbd.exports.join(', ')})\n`);
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
    .option('--state-dir <dir>', 'where sequence numbers are kept; keep it stable', '.data/agent')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .action((options: RunOptions) => run(options).catch(fail));
  cli
    .command('status')
    .description('print the status the agent last wrote to the cache')
    .addOption(vmOption())
    .addOption(storageOption())
    .action((options: CommonOptions) => status(options).catch(fail));
  return cli;
}

program().parseAsync(process.argv).catch(fail);
