/**
 * `tidemark-host` as a child process: readiness line, keys, a request, graceful SIGTERM with a
 * request in flight, a forced second signal, and flag errors. Runs dist/host/cli.js, rebuilding
 * dist first when it is older than the host sources (`npm test` builds it already).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt as ensureBuiltCli } from '../../helpers/builtCli';
import { type CliProcess, killAll, runCli } from '../../helpers/cliProcess';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist/host/cli.js');
const FIXTURE = path.join(REPO, 'test/fixtures/http-app');

function ensureBuilt(): void {
  ensureBuiltCli(CLI, ['host', 'shared']);
}

type Running = CliProcess;

function run(args: string[]): Running {
  return runCli(CLI, args);
}

function dataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-cli-'));
}

describe('tidemark-host CLI', () => {
  beforeAll(ensureBuilt, 120_000);

  afterEach(() => {
    killAll();
  });

  it('prints the ready line then the keys, serves requests, and drains on SIGTERM', async () => {
    const host = run(['--app', FIXTURE, '--port', '0', '--data', dataDir()]);
    const ready = await host.line(/^Host ready: /);
    const match = /^Host ready: (http:\/\/127\.0\.0\.1:\d+)$/.exec(ready);
    expect(match).not.toBeNull();
    const base = match![1]!;
    await host.line(/^Master key: /);
    const at = host.lines.indexOf(ready);
    expect(host.lines[at + 1]).toMatch(/^Function key: \S{20,}$/);
    expect(host.lines[at + 2]).toMatch(/^Master key: \S{20,}$/);
    expect(host.lines.filter((l) => l.startsWith('Host ready:'))).toHaveLength(1);

    expect(await (await fetch(`${base}/api/hello?name=cli`)).text()).toBe('hello cli');

    const slow = fetch(`${base}/api/slow?ms=1500`);
    await host.line(/slow request started/);
    host.child.kill('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('slow done');
    expect(await host.exit).toBe(0);
  });

  it('exits 1 at once on a second signal', async () => {
    const host = run(['--app', FIXTURE, '--port', '0', '--data', dataDir()]);
    const base = (await host.line(/^Host ready: /)).slice('Host ready: '.length);
    const slow = fetch(`${base}/api/slow?ms=20000`).catch(() => undefined);
    await host.line(/slow request started/);
    host.child.kill('SIGTERM');
    await host.line(/SIGTERM received/);
    host.child.kill('SIGINT');
    expect(await host.exit).toBe(1);
    await slow;
  });

  it('explains bad flags and bad apps and exits 1', () => {
    const bad = spawnSync(process.execPath, [CLI, '--app', FIXTURE, '--port', 'http'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--port <n>' argument 'http' is invalid/);
    expect(bad.stdout).not.toMatch(/Host ready/);

    const missing = spawnSync(
      process.execPath,
      [CLI, '--app', path.join(os.tmpdir(), 'no-such-app'), '--port', '0'],
      {
        encoding: 'utf8',
      },
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/No host\.json in .*\n {2}hint: /);
  });
});
