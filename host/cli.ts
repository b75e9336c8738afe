#!/usr/bin/env node
/**
 * `tidemark-host --app DIR [--port N] [--data DIR] [--log-level L]`: runs an Azure Functions
 * Node.js v4 app locally, like `func start`. Prints `Host ready: URL` once every trigger listens,
 * then the keys. SIGINT/SIGTERM stop it gracefully (invocations in flight finish); a second signal
 * exits at once. Exit codes: 0 stopped, 1 user error (flags, app config), 2 system error.
 */
import path from 'node:path';

import { Command, InvalidArgumentError, Option } from 'commander';

import { isTidemarkError } from '../shared/errors';
import { createPinoLogger } from '../shared/pinoLogger';
import { type HostHandle, startHost } from './startHost';

interface CliOptions {
  app: string;
  port: number;
  data?: string;
  logLevel: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('Use a port number from 0 to 65535 (0 picks a free port).');
  }
  return port;
}

function parseArgs(argv: string[]): CliOptions {
  return new Command()
    .name('tidemark-host')
    .description('Runs an Azure Functions Node.js v4 app locally against Azurite, as Core Tools would.')
    .requiredOption('--app <dir>', 'the function app folder (host.json, package.json "main")')
    .option('--port <n>', 'HTTP port; 0 picks a free one', parsePort, 7071)
    .option('--data <dir>', 'where the host keeps its keys and state (default: <app>/.data/host)')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .showHelpAfterError('(run tidemark-host --help for usage)')
    .parse(argv)
    .opts<CliOptions>();
}

function describeError(err: unknown): { text: string; exitCode: number } {
  if (isTidemarkError(err)) {
    const text = err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
    return { text, exitCode: err.isUserError ? 1 : 2 };
  }
  const text = (err as Error)?.message ?? String(err);
  if ((err as { code?: string })?.code === 'EADDRINUSE') {
    return {
      text: `${text}\n  hint: Another process uses that port; pick another with --port.`,
      exitCode: 2,
    };
  }
  return { text, exitCode: 2 };
}

function printKeys(host: HostHandle): void {
  const { settings } = host.services;
  const fromSetting = (name: string, key: string): string =>
    settings.get(name) ? `(from the setting ${name})` : key;
  process.stdout.write(
    `Function key: ${fromSetting('TIDEMARK_FUNCTION_KEY', host.keys.functionKey)}\n` +
      `Master key: ${fromSetting('TIDEMARK_MASTER_KEY', host.keys.masterKey)}\n`,
  );
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv);
  const logger = createPinoLogger({ name: 'host', level: options.logLevel });
  const host = startHost({
    appDir: path.resolve(options.app),
    port: options.port,
    dataDir: options.data === undefined ? undefined : path.resolve(options.data),
    logger,
  });

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`tidemark-host: ${signal} again; exiting without waiting.\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal} received; stopping (invocations in flight finish first)`);
    host.dispose().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`tidemark-host: stopping failed: ${describeError(err).text}\n`);
        process.exit(2);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await host.ready;
  } catch (err) {
    const { text, exitCode } = describeError(err);
    process.stderr.write(`tidemark-host: ${text}\n`);
    await host.dispose().catch(() => undefined);
    process.exit(exitCode);
  }
  if (stopping) return;
  process.stdout.write(`Host ready: ${host.url}\n`);
  printKeys(host);
}

main().catch((err: unknown) => {
  const { text, exitCode } = describeError(err);
  process.stderr.write(`tidemark-host: ${text}\n`);
  process.exit(exitCode);
});
