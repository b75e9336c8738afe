/**
 * The mobility agent as its own process (`node dist/agent/cli.js run`), so a test can SIGKILL it as
 * a crash would: no shipping of what it journaled, no clean mark in its sequence file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from '../../helpers/tidemarkHost';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

export interface AgentProcess {
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop (everything journaled is shipped first). */
  stop(): Promise<void>;
}

export async function spawnAgent(options: {
  resourceGroup: string;
  vm: string;
  sourceConnection: string;
  stateDir: string;
  port?: number;
}): Promise<AgentProcess> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--vm',
      `${options.resourceGroup}/${options.vm}`,
      '--source-storage',
      options.sourceConnection,
      '--state-dir',
      options.stateDir,
      '--nbd-port',
      String(options.port ?? 0),
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-30_000);
  };
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start within 60 s:\n${tail}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      const m = /Agent ready: nbd:\/\/[^:]+:(\d+)/.exec(tail);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with code ${code} before it was ready:\n${tail}`));
    });
  });
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { port, child, output: () => tail, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
