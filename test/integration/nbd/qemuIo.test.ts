import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { MiB, startTestServer, type TestServer } from './support';

const tools = checkTools('qemu-io');

describe.skipIf(tools.skip)(`NBD server driven by qemu-io${tools.note}`, () => {
  let t: TestServer;

  beforeAll(() => tools.assertAvailable());
  beforeEach(async () => {
    t = await startTestServer({ disk0: 16 * MiB, disk1: 4 * MiB });
  });
  afterEach(async () => {
    await t.close();
  });

  async function io(commands: string[], name = 'disk0'): Promise<string> {
    const result = await qemuIo(t.port, name, commands, { cache: 'writeback' });
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(output).not.toMatch(/failed|error/i);
    return output;
  }

  it('writes a pattern and reads it back, and the device holds it', async () => {
    const output = await io(['write -P 0xab 0 64k', 'read -P 0xab 0 64k']);
    expect(output).toMatch(/wrote 65536\/65536 bytes at offset 0/);
    expect(output).toMatch(/read 65536\/65536 bytes at offset 0/);
    const disk = t.device('disk0').inner.snapshot();
    expect(disk.subarray(0, 64 * 1024).every((b) => b === 0xab)).toBe(true);
    expect(disk.subarray(64 * 1024).every((b) => b === 0)).toBe(true);
  });

  it('passes unaligned writes through unchanged (minimum block size 1)', async () => {
    await io([
      'write -P 0x11 0 8k',
      'write -P 0xcd 1000 3001',
      'read -P 0xcd 1000 3001',
      'read -P 0x11 0 1000',
    ]);
    const writes = t.device('disk0').ops.filter((op) => op.op === 'write');
    expect(writes.map((w) => [w.offset, w.length])).toEqual([
      [0, 8192],
      [1000, 3001],
    ]);
    const disk = t.device('disk0').inner.snapshot();
    expect(disk[999]).toBe(0x11);
    expect(disk.subarray(1000, 4001).every((b) => b === 0xcd)).toBe(true);
    expect(disk[4001]).toBe(0x11);
  });

  it('maps write -z to WRITE_ZEROES, with NO_HOLE unless -u allows unmapping', async () => {
    await io([
      'write -P 0x5a 0 256k',
      'write -z 0 64k',
      'write -z -u 128k 64k',
      'read -P 0 0 64k',
      'read -P 0x5a 64k 64k',
    ]);
    const zeroes = t.device('disk0').ops.filter((op) => op.op === 'writeZeroes');
    expect(zeroes).toEqual([
      { op: 'writeZeroes', offset: 0, length: 65536, fua: false, mayTrim: false },
      { op: 'writeZeroes', offset: 131072, length: 65536, fua: false, mayTrim: true },
    ]);
    const disk = t.device('disk0').inner.snapshot();
    expect(disk.subarray(0, 64 * 1024).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(128 * 1024, 192 * 1024).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(192 * 1024, 256 * 1024).every((b) => b === 0x5a)).toBe(true);
  });

  it('maps discard to TRIM', async () => {
    await io(['write -P 0x77 0 128k', 'discard 0 64k']);
    const trims = t.device('disk0').ops.filter((op) => op.op === 'trim');
    expect(trims).toEqual([{ op: 'trim', offset: 0, length: 65536 }]);
    expect(t.device('disk0').inner.allocatedChunks).toBe(1);
  });

  it('sets FUA only on writes that ask for it (write -f)', async () => {
    await io(['write -P 0x41 0 4k', 'write -f -P 0x42 4k 4k', 'write -z -f 8k 4k']);
    const ops = t.device('disk0').ops.filter((op) => op.op === 'write' || op.op === 'writeZeroes');
    expect(ops.map((op) => [op.op, op.offset, op.fua])).toEqual([
      ['write', 0, false],
      ['write', 4096, true],
      ['writeZeroes', 8192, true],
    ]);
  });

  it('sets FUA on every write in qemu-io writethrough mode', async () => {
    const result = await qemuIo(t.port, 'disk0', ['write -P 0x41 0 4k'], { cache: 'writethrough' });
    expect(result.code, result.stderr).toBe(0);
    expect(t.device('disk0').ops.find((op) => op.op === 'write')?.fua).toBe(true);
  });

  it('passes flush to the device in order with the writes around it', async () => {
    await io(['write -P 1 0 4k', 'flush', 'write -P 2 4k 4k']);
    const ops = t.device('disk0').ops.filter((op) => op.op !== 'read');
    // The last flush is qemu-io closing the image.
    expect(ops.map((op) => op.op)).toEqual(['write', 'flush', 'write', 'flush']);
    expect(t.device('disk0').inner.flushCount).toBe(2);
  });

  it('keeps write order across a long sequence of overlapping writes', async () => {
    const commands: string[] = [];
    for (let i = 1; i <= 20; i++) commands.push(`write -P ${i} ${i * 512} 8k`);
    await io(commands);
    const writes = t.device('disk0').ops.filter((op) => op.op === 'write');
    expect(writes.map((w) => w.first)).toEqual(commands.map((_, i) => i + 1));
    const disk = t.device('disk0').inner.snapshot();
    // Each write overlaps the next; the last one written wins everywhere it reached.
    expect(disk.subarray(20 * 512, 20 * 512 + 8192).every((b) => b === 20)).toBe(true);
    expect(disk[19 * 512]).toBe(19);
  });

  it('fails reads past the end of the export without touching the device', async () => {
    // qemu checks the size it negotiated and fails this itself; rawTransmission tests the server side.
    const result = await qemuIo(t.port, 'disk1', ['read 4092k 8k']);
    expect(result.stdout + result.stderr).toMatch(/read failed/);
    expect(t.device('disk1').ops.filter((op) => op.op === 'read')).toEqual([]);
  });

  it("refuses an unknown export with the server's message", async () => {
    const result = await qemuIo(t.port, 'no-such-disk', ['read 0 4k']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Requested export not available/);
    expect(result.stderr).toMatch(/unknown export 'no-such-disk'/);
  });

  it('serves two clients at once on different exports and on the same export', async () => {
    const [a, b, c] = await Promise.all([
      qemuIo(t.port, 'disk0', ['write -P 0xa1 0 1M', 'read -P 0xa1 0 1M']),
      qemuIo(t.port, 'disk1', ['write -P 0xb2 0 1M', 'read -P 0xb2 0 1M']),
      qemuIo(t.port, 'disk0', ['write -P 0xc3 8M 1M', 'read -P 0xc3 8M 1M']),
    ]);
    for (const r of [a, b, c]) expect(r.code, r.stdout + r.stderr).toBe(0);
    const disk0 = t.device('disk0').inner.snapshot();
    expect(disk0.subarray(0, MiB).every((x) => x === 0xa1)).toBe(true);
    expect(disk0.subarray(8 * MiB, 9 * MiB).every((x) => x === 0xc3)).toBe(true);
    expect(
      t
        .device('disk1')
        .inner.snapshot()
        .subarray(0, MiB)
        .every((x) => x === 0xb2),
    ).toBe(true);
  });
});
