import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTools, nbdUri, runTool, runToolOk } from '../../helpers/nbdTools';
import { MiB, startTestServer, type TestServer } from './support';

const tools = checkTools('nbdinfo');

interface NbdinfoExport {
  'export-name': string;
  description?: string;
  'export-size': number;
  is_read_only: boolean;
  can_flush: boolean;
  can_fua: boolean;
  can_trim: boolean;
  can_zero: boolean;
  can_multi_conn: boolean;
  block_size_minimum: number;
  block_size_preferred: number;
  block_size_maximum: number;
}

interface NbdinfoOutput {
  protocol: string;
  structured: boolean;
  exports: NbdinfoExport[];
}

describe.skipIf(tools.skip)(`NBD server inspected by nbdinfo${tools.note}`, () => {
  let t: TestServer;

  beforeAll(() => tools.assertAvailable());
  beforeEach(async () => {
    t = await startTestServer({ 'vm1-os': 16 * MiB, 'vm1-data': 64 * MiB }, { defaultExport: 'vm1-os' });
  });
  afterEach(async () => {
    await t.close();
  });

  it('lists every export with its size and flags', async () => {
    const info = JSON.parse(
      await runToolOk('nbdinfo', ['--json', '--list', nbdUri(t.port)]),
    ) as NbdinfoOutput;
    expect(info.protocol).toBe('newstyle-fixed');
    expect(info.structured).toBe(false);
    expect(info.exports.map((e) => [e['export-name'], e['export-size']])).toEqual([
      ['vm1-os', 16 * MiB],
      ['vm1-data', 64 * MiB],
    ]);
  });

  it('describes one export: size, transmission flags and block sizes', async () => {
    const info = JSON.parse(
      await runToolOk('nbdinfo', ['--json', nbdUri(t.port, 'vm1-data')]),
    ) as NbdinfoOutput;
    expect(info.exports).toHaveLength(1);
    expect(info.exports[0]).toMatchObject({
      'export-name': 'vm1-data',
      description: 'tidemark disk vm1-data',
      'export-size': 64 * MiB,
      is_read_only: false,
      can_flush: true,
      can_fua: true,
      can_trim: true,
      can_zero: true,
      can_multi_conn: false,
      block_size_minimum: 1,
      block_size_preferred: 4096,
      block_size_maximum: 32 * MiB,
    });
  });

  it('prints the size in plain mode', async () => {
    const size = await runToolOk('nbdinfo', ['--size', nbdUri(t.port, 'vm1-os')]);
    expect(size.trim()).toBe(String(16 * MiB));
  });

  it('maps the empty export name to the default export', async () => {
    const info = JSON.parse(await runToolOk('nbdinfo', ['--json', nbdUri(t.port)])) as NbdinfoOutput;
    expect(info.exports[0]?.['export-size']).toBe(16 * MiB);
  });

  it('reports an unknown export as an error from NBD_OPT_GO', async () => {
    const result = await runTool('nbdinfo', [nbdUri(t.port, 'vm9-os')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/server replied with error to opt_go/);
    expect(result.stderr).toMatch(/vm9-os/);
  });

  it('sees exports added after the server started', async () => {
    const { MemoryBlockDevice } = await import('../../../agent/memoryBlockDevice');
    const { TracingDevice } = await import('./support');
    t.devices.set('vm2-os', new TracingDevice(new MemoryBlockDevice('vm2-os', 2 * MiB)));
    const size = await runToolOk('nbdinfo', ['--size', nbdUri(t.port, 'vm2-os')]);
    expect(size.trim()).toBe(String(2 * MiB));
  });
});
