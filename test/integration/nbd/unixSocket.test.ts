/**
 * The NBD server on a unix socket, driven by the real qemu-io and nbdinfo through
 * `nbd+unix:///EXPORT?socket=PATH` URIs; claiming the socket file (a stale one is replaced, a live
 * one or a plain file never), removing it on close, and the agent serving its disks there.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { startNbdServer } from '../../../agent/nbd';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { VmDisks } from '../../../agent/vmDisks';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import { checkTools, runTool, runToolOk } from '../../helpers/nbdTools';
import { MiB, startTestServer, type TestServer } from './support';

const tools = checkTools('qemu-io', 'nbdinfo');

function unixUri(socketPath: string, exportName = ''): string {
  return `nbd+unix:///${encodeURIComponent(exportName)}?socket=${socketPath}`;
}

describe.skipIf(tools.skip)(`NBD server on a unix socket${tools.note}`, () => {
  let dir: string;
  let socketPath: string;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(() => {
    tools.assertAvailable();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-nbd-unix-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  let counter = 0;
  async function start(disks: Record<string, number> = { os: 16 * MiB, data: 4 * MiB }): Promise<TestServer> {
    socketPath = path.join(dir, `nbd${counter++}.sock`);
    const t = await startTestServer(disks, { socketPath, defaultExport: 'os' });
    servers.push(t);
    return t;
  }

  async function io(uri: string, commands: string[]): Promise<string> {
    const args = ['-f', 'raw', '-t', 'writeback', uri];
    for (const command of commands) args.push('-c', command);
    const result = await runTool('qemu-io', args);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(output).not.toMatch(/failed|error/i);
    return output;
  }

  it('serves qemu-io: writes land on the device and read back', async () => {
    const t = await start();
    const output = await io(unixUri(socketPath, 'data'), ['write -P 0xab 4k 64k', 'read -P 0xab 4k 64k']);
    expect(output).toMatch(/wrote 65536\/65536 bytes at offset 4096/);
    const disk = t.device('data').inner.snapshot();
    expect(disk.subarray(4096, 4096 + 65536).every((b) => b === 0xab)).toBe(true);
    expect(disk[4095]).toBe(0);
    // The empty export name is the default export.
    await io(unixUri(socketPath), ['write -P 0x11 0 4k']);
    expect(t.device('os').inner.snapshot()[0]).toBe(0x11);
  });

  it('is listed and described by nbdinfo', async () => {
    await start();
    const list = JSON.parse(await runToolOk('nbdinfo', ['--json', '--list', unixUri(socketPath)])) as {
      exports: { 'export-name': string; 'export-size': number }[];
    };
    expect(list.exports.map((e) => [e['export-name'], e['export-size']])).toEqual([
      ['os', 16 * MiB],
      ['data', 4 * MiB],
    ]);
    expect((await runToolOk('nbdinfo', ['--size', unixUri(socketPath, 'data')])).trim()).toBe(
      String(4 * MiB),
    );
  });

  it('reports its URI, creates the socket file and removes it on close', async () => {
    const t = await start();
    expect(t.server.uri).toBe(`nbd+unix:///?socket=${socketPath}`);
    expect(t.server.socketPath).toBe(socketPath);
    expect(t.server.port).toBe(0);
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    await t.close();
    expect(fs.existsSync(socketPath)).toBe(false);
    expect(
      t.logger.records.some((r) => r.msg === 'nbd server listening' && r.fields.uri === t.server.uri),
    ).toBe(true);
  });

  it('replaces a stale socket left by a killed server', async () => {
    socketPath = path.join(dir, 'stale.sock');
    const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await new Promise((resolve) => spawn(process.execPath, ['-e', script]).once('exit', resolve));
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);

    const t = await startTestServer({ os: MiB }, { socketPath });
    servers.push(t);
    await io(unixUri(socketPath, 'os'), ['write -P 0x5a 0 4k']);
    expect(t.device('os').inner.snapshot()[0]).toBe(0x5a);
  });

  it('refuses a socket another server listens on, and that server goes on serving', async () => {
    const first = await start();
    const error = await startTestServer({ os: MiB }, { socketPath }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTidemarkError(error, 'Conflict')).toBe(true);
    expect((error as Error).message).toMatch(/Another server is listening on the socket/);
    await io(unixUri(socketPath, 'os'), ['write -P 0x22 0 4k']);
    expect(first.device('os').inner.snapshot()[0]).toBe(0x22);
  });

  it('never replaces a file that is not a socket', async () => {
    const file = path.join(dir, 'not-a-socket');
    fs.writeFileSync(file, 'precious');
    await expect(startTestServer({ os: MiB }, { socketPath: file })).rejects.toMatchObject({
      code: 'InvalidConfig',
      message: /exists and is not a socket/,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
  });

  it('refuses a socket path the kernel would cut short, and explains one it cannot listen on', async () => {
    const tooLong = path.join(dir, 'x'.repeat(120));
    await expect(startTestServer({ os: MiB }, { socketPath: tooLong })).rejects.toMatchObject({
      code: 'InvalidConfig',
      message: /bytes long; a unix socket path holds at most 107/,
    });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('xxx'))).toEqual([]);
    await expect(
      startTestServer({ os: MiB }, { socketPath: path.join(dir, 'no-such-dir', 'nbd.sock') }),
    ).rejects.toMatchObject({
      code: 'InvalidConfig',
      message: /cannot listen on the socket .*no-such-dir/,
      hint: /directory that exists/,
    });
  });

  it('lets the mobility agent serve its disks there', async () => {
    socketPath = path.join(dir, 'agent.sock');
    const inner = [new MemoryBlockDevice('os', 2 * MiB), new MemoryBlockDevice('data', MiB)];
    const agent = new MobilityAgent({
      resourceGroup: 'rg',
      vm: 'vm',
      sourceConnectionString: 'UseDevelopmentStorage=true',
      stateDir: path.join(dir, 'state'),
      nbd: { socketPath },
      logger: new RecordingLogger(),
      openDisks: async () => new VmDisks(inner.map((d, i) => new ReplicatedDisk(i, d))),
      readConfig: async () => ({ kind: 'absent' }),
    });
    await agent.start();
    servers.push({ close: () => agent.stop() });
    expect(agent.nbdUri).toBe(`nbd+unix:///?socket=${socketPath}`);
    expect(agent.status().nbd).toEqual({
      host: `unix:${socketPath}`,
      port: 0,
      socketPath,
      exports: ['os', 'data'],
    });
    await io(unixUri(socketPath, 'data'), ['write -P 0x77 512 1k', 'read -P 0x77 512 1k']);
    expect(inner[1]!.snapshot()[512]).toBe(0x77);
    await agent.stop();
    expect(fs.existsSync(socketPath)).toBe(false);
  });

  it('keeps TCP as it was: nbd://HOST:PORT', async () => {
    const server = await startNbdServer({ exports: new Map(), logger: new RecordingLogger() });
    servers.push(server);
    expect(server.uri).toBe(`nbd://127.0.0.1:${server.port}`);
    expect(server.socketPath).toBeUndefined();
  });
});
