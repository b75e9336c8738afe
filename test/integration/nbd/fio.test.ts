import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTools, fioHasNbdEngine, nbdUri, runTool } from '../../helpers/nbdTools';
import { MiB, startTestServer, type TestServer } from './support';

const tools = checkTools('fio');

describe.skipIf(tools.skip)(`NBD server under fio's nbd engine${tools.note}`, () => {
  let t: TestServer;

  beforeAll(async () => {
    tools.assertAvailable();
    if (!(await fioHasNbdEngine())) throw new Error('fio lacks its nbd engine (Debian fio is built with it)');
  });
  beforeEach(async () => {
    t = await startTestServer({ disk0: 32 * MiB });
  });
  afterEach(async () => {
    await t.close();
  });

  it('survives random writes at queue depth 16 and verifies every block', async () => {
    const result = await runTool(
      'fio',
      [
        '--name=tidemark-nbd',
        '--ioengine=nbd',
        `--uri=${nbdUri(t.port, 'disk0')}`,
        '--rw=randwrite',
        '--bs=4k',
        '--size=8M',
        '--iodepth=16',
        '--verify=crc32c',
        '--do_verify=1',
        '--verify_fatal=1',
        '--output-format=json',
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // The nbd engine prints "fio: connected to NBD server" ahead of the JSON.
    const json = result.stdout.slice(result.stdout.indexOf('\n{') + 1);
    const job = (JSON.parse(json) as { jobs: { error: number; write: { io_bytes: number } }[] }).jobs[0]!;
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBe(8 * MiB);
    const writes = t.device('disk0').ops.filter((op) => op.op === 'write');
    expect(writes).toHaveLength(2048);
    expect(t.device('disk0').maxInFlight).toBe(1);
  });
});
