/**
 * Starts Azurite (from npm) as a child process on given or free ports, waits until all three
 * services listen, and stops it. Data lives in a folder (kept between runs) or in memory (tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { TidemarkError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { developmentConnectionString } from './storage';

export interface AzuriteOptions {
  /** Keep data here; omit for in-memory storage. */
  location?: string;
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  host?: string;
  logger?: Logger;
  /** Label for log lines, e.g. the region name. */
  name?: string;
  startTimeoutMs?: number;
}

export interface AzuriteInstance {
  readonly blobPort: number;
  readonly queuePort: number;
  readonly tablePort: number;
  /** Azurite's process id (benchmarks sample its CPU and memory). */
  readonly pid: number | undefined;
  /** A full connection string for the well-known development account on these ports. */
  readonly connectionString: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Never leave an Azurite behind when this process ends, however it ends. */
function killOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^:]+:(\d+)/;

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const script = path.join(
    path.dirname(require.resolve('azurite/package.json')),
    'dist',
    'src',
    'azurite.js',
  );
  const host = options.host ?? '127.0.0.1';
  const args = [
    script,
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    '--blobHost',
    host,
    '--queueHost',
    host,
    '--tableHost',
    host,
    '--blobPort',
    String(options.blobPort ?? 0),
    '--queuePort',
    String(options.queuePort ?? 0),
    '--tablePort',
    String(options.tablePort ?? 0),
  ];
  if (options.location) {
    fs.mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop Azurite last,
  // after the host has finished with it.
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.location,
    detached: true,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  killOnExit();
  const ports: Partial<Record<'Blob' | 'Queue' | 'Table', number>> = {};
  let output = '';

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        fail(new Error(`Azurite did not start within ${options.startTimeoutMs ?? 30_000} ms.\n${output}`)),
      options.startTimeoutMs ?? 30_000,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new TidemarkError(
          'StorageUnavailable',
          `Azurite${options.name ? ` (${options.name})` : ''} failed to start: ${err.message}`,
          {
            hint: 'Check that the ports are free (another Azurite running?) and that `npm ci` installed azurite.',
          },
        ),
      );
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        const m = LISTENING.exec(line);
        if (m) ports[m[1] as 'Blob'] = Number(m[2]);
      }
      if (ports.Blob && ports.Queue && ports.Table) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => fail(new Error(`exited with code ${code}\n${output}`)));
    child.once('error', fail);
  });
  child.removeAllListeners('exit');
  child.stderr?.resume();
  options.logger?.info('Azurite started', {
    name: options.name,
    ...ports,
    location: options.location ?? 'memory',
  });

  return {
    blobPort: ports.Blob as number,
    queuePort: ports.Queue as number,
    tablePort: ports.Table as number,
    pid: child.pid,
    connectionString: developmentConnectionString(host, {
      blob: ports.Blob as number,
      queue: ports.Queue as number,
      table: ports.Table as number,
    }),
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
