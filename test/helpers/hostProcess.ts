/**
 * Runs the built host CLI (`node dist/host/cli.js --app DIR --port 0 --data DIR`) as a child
 * process, for tests that kill it: resolves once it prints `Host ready: URL`. Needs `npm run build`
 * (npm test runs it first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/host/cli.js');

export interface HostProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** The last output lines (for failure messages). */
  output(): string;
  /** SIGKILL: no cleanup at all, like a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop. */
  stop(): Promise<void>;
}

export interface SpawnHostOptions {
  appDir: string;
  dataDir: string;
  env: Record<string, string>;
  port?: number;
  timeoutMs?: number;
}

export async function spawnHost(options: SpawnHostOptions): Promise<HostProcess> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--app',
      options.appDir,
      '--port',
      String(options.port ?? 0),
      '--data',
      options.dataDir,
      '--log-level',
      'warn',
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-20_000);
  };
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`host did not start within ${options.timeoutMs ?? 30_000} ms:\n${tail}`)),
      options.timeoutMs ?? 30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      const m = /Host ready: (http:\/\/\S+)/.exec(tail);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with code ${code} before it was ready:\n${tail}`));
    });
  });
  return {
    url,
    child,
    output: () => tail,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
