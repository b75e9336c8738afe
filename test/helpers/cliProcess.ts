/**
 * A CLI run as a child process for tests: its stdout lines as they come, its stderr, its exit code,
 * and `line(re)` to wait for a line (one already printed counts). `killAll()` ends what is left.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

import { REPO } from './builtCli';

export type Child = ChildProcessByStdio<null, Readable, Readable>;

export interface CliProcess {
  child: Child;
  lines: string[];
  exit: Promise<number | null>;
  stderr(): string;
  /** Resolves with the first stdout line matching `re`; rejects after `timeoutMs` or on exit. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
}

const running: Child[] = [];

export function runCli(script: string, args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  running.push(child);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.filter((w) => w.re.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    stderr: () => stderr,
    line: (re, timeoutMs = 20_000) =>
      new Promise<string>((resolve, reject) => {
        const seen = lines.find((l) => re.test(l));
        if (seen !== undefined) return resolve(seen);
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `No stdout line matched ${re} in ${timeoutMs} ms.\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exit.then(() =>
          reject(new Error(`The process exited before printing ${re}.\nstderr:\n${stderr}`)),
        );
      }),
  };
}

/** SIGKILLs every child started by runCli that is still running. */
export function killAll(): void {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
