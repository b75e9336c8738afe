import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTools, nbdUri, qemuIo, runToolOk } from '../../helpers/nbdTools';
import { MiB, patternBuffer, startTestServer, type TestServer } from './support';

const tools = checkTools('nbdcopy', 'qemu-io', 'nbdinfo');

describe.skipIf(tools.skip)(`NBD server copied with nbdcopy${tools.note}`, () => {
  let t: TestServer;
  let dir: string;

  beforeAll(() => {
    tools.assertAvailable();
    dir = mkdtempSync(join(tmpdir(), 'tidemark-nbdcopy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    t = await startTestServer({ src: 24 * MiB, dst: 24 * MiB, other: 8 * MiB });
  });
  afterEach(async () => {
    await t.close();
  });

  it('copies a whole export to a file byte for byte', async () => {
    const src = t.device('src').inner;
    await src.write(0, patternBuffer(3 * MiB, 7), { fua: false });
    await src.write(10 * MiB + 123, patternBuffer(777_777, 8), { fua: false });
    await src.write(24 * MiB - 4096, patternBuffer(4096, 9), { fua: false });
    const file = join(dir, 'out.img');

    await runToolOk('nbdcopy', [nbdUri(t.port, 'src'), file], { timeoutMs: 60_000 });

    expect(readFileSync(file).equals(src.snapshot())).toBe(true);
  });

  it('copies a file into an export byte for byte, zeroing its holes', async () => {
    const image = Buffer.alloc(24 * MiB);
    patternBuffer(5 * MiB, 11).copy(image, MiB);
    patternBuffer(MiB + 3, 12).copy(image, 17 * MiB);
    const file = join(dir, 'in.img');
    writeFileSync(file, image);
    // Stale data the copy must overwrite, including where the file is all zeroes.
    await t.device('dst').inner.write(12 * MiB, patternBuffer(MiB, 13), { fua: false });

    await runToolOk('nbdcopy', ['--flush', file, nbdUri(t.port, 'dst')], { timeoutMs: 60_000 });

    expect(t.device('dst').inner.snapshot().equals(image)).toBe(true);
    expect(t.device('dst').ops.some((op) => op.op === 'flush')).toBe(true);
  });

  it('copies export to export and back to a file unchanged', async () => {
    const src = t.device('src').inner;
    await src.write(MiB, patternBuffer(6 * MiB, 21), { fua: false });
    const file = join(dir, 'roundtrip.img');

    await runToolOk('nbdcopy', [nbdUri(t.port, 'src'), nbdUri(t.port, 'dst')], { timeoutMs: 60_000 });
    await runToolOk('nbdcopy', [nbdUri(t.port, 'dst'), file], { timeoutMs: 60_000 });

    expect(t.device('dst').inner.snapshot().equals(src.snapshot())).toBe(true);
    expect(readFileSync(file).equals(src.snapshot())).toBe(true);
  });

  it('serves nbdcopy, qemu-io and nbdinfo clients at the same time', async () => {
    await t.device('src').inner.write(0, patternBuffer(24 * MiB, 31), { fua: false });
    const file = join(dir, 'concurrent.img');
    const [, io, size] = await Promise.all([
      runToolOk('nbdcopy', [nbdUri(t.port, 'src'), file], { timeoutMs: 60_000 }),
      qemuIo(t.port, 'other', ['write -P 0x3c 0 4M', 'read -P 0x3c 0 4M']),
      runToolOk('nbdinfo', ['--size', nbdUri(t.port, 'dst')]),
    ]);
    expect(io.code, io.stdout + io.stderr).toBe(0);
    expect(size.trim()).toBe(String(24 * MiB));
    expect(readFileSync(file).equals(t.device('src').inner.snapshot())).toBe(true);
    expect(
      t
        .device('other')
        .inner.snapshot()
        .subarray(0, 4 * MiB)
        .every((b) => b === 0x3c),
    ).toBe(true);
  });
});
