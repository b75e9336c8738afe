import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawNbdClient } from './rawClient';
import { MiB, patternBuffer, startTestServer, watchAllocations, type TestServer } from './support';

/** Transmission-phase requests from a raw socket: refusals, device errors, order, back-pressure. */

const CMD = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
} as const;
const FLAG = { FUA: 1, NO_HOLE: 2, DF: 4, FAST_ZERO: 16 } as const;
const EIO = 5;
const EINVAL = 22;
const ENOSPC = 28;
const MAX_PAYLOAD = 32 * MiB;
const SIZE = 8 * MiB;
/** Large enough that oversized requests are refused for their length, not their range. */
const BIG = 8 * 1024 * MiB;

describe('NBD transmission over a raw socket', () => {
  let t: TestServer;
  let c: RawNbdClient;
  const extra: RawNbdClient[] = [];

  async function open(name = 'disk0'): Promise<RawNbdClient> {
    const client = await RawNbdClient.connect(t.port);
    extra.push(client);
    await client.open(name);
    return client;
  }

  /** Proves a connection still works: write, then read back. */
  async function roundTrip(client: RawNbdClient, offset = 4096): Promise<void> {
    const data = patternBuffer(512, offset);
    client.sendRequest({ type: CMD.WRITE, handle: 77n, offset, payload: data });
    expect(await client.readReply()).toMatchObject({ error: 0, handle: 77n });
    client.sendRequest({ type: CMD.READ, handle: 78n, offset, length: 512 });
    expect((await client.readReply(512)).data.equals(data)).toBe(true);
  }

  beforeEach(async () => {
    t = await startTestServer({ disk0: SIZE, big: BIG });
    c = await open();
  });
  afterEach(async () => {
    for (const client of extra.splice(0)) client.destroy();
    await t.close();
  });

  it('answers out-of-range reads with EINVAL without touching the device', async () => {
    for (const [offset, length] of [
      [SIZE, 1],
      [SIZE - 512, 1024],
      [2n ** 64n - 1n, 1],
      [2n ** 63n, 4096],
    ] as const) {
      c.sendRequest({ type: CMD.READ, handle: 1n, offset, length });
      expect(await c.readReply(length)).toMatchObject({ error: EINVAL, handle: 1n, data: Buffer.alloc(0) });
    }
    expect(t.device('disk0').ops).toEqual([]);
    await roundTrip(c);
  });

  it('answers writes and zeroes past the end with ENOSPC, trims with EINVAL, and skips the payload', async () => {
    c.sendRequest({ type: CMD.WRITE, handle: 2n, offset: SIZE - 100, payload: Buffer.alloc(200, 0xee) });
    expect(await c.readReply()).toMatchObject({ error: ENOSPC, handle: 2n });
    c.sendRequest({ type: CMD.WRITE_ZEROES, handle: 3n, offset: SIZE, length: 512 });
    expect(await c.readReply()).toMatchObject({ error: ENOSPC, handle: 3n });
    c.sendRequest({ type: CMD.TRIM, handle: 4n, offset: SIZE - 512, length: 1024 });
    expect(await c.readReply()).toMatchObject({ error: EINVAL, handle: 4n });
    expect(t.device('disk0').ops).toEqual([]);
    await roundTrip(c);
  });

  it('refuses a read longer than the maximum payload without allocating it', async () => {
    const big = await open('big');
    const allocations = watchAllocations();
    try {
      big.sendRequest({ type: CMD.READ, handle: 5n, offset: 0, length: 0xffffffff });
      expect(await big.readReply()).toMatchObject({ error: EINVAL, handle: 5n });
      big.sendRequest({ type: CMD.READ, handle: 6n, offset: 0, length: MAX_PAYLOAD + 1 });
      expect(await big.readReply()).toMatchObject({ error: EINVAL, handle: 6n });
      expect(allocations.largest()).toBeLessThan(MiB);
    } finally {
      allocations.stop();
    }
    expect(t.device('big').ops).toEqual([]);
    big.sendRequest({ type: CMD.READ, handle: 7n, offset: BIG - MAX_PAYLOAD, length: MAX_PAYLOAD });
    expect((await big.readReply(MAX_PAYLOAD)).data.length).toBe(MAX_PAYLOAD);
    await roundTrip(big);
  });

  it('refuses a write longer than the maximum payload, drains it unbuffered, and carries on', async () => {
    const big = await open('big');
    const payload = Buffer.alloc(MAX_PAYLOAD + 4096, 0x99);
    const allocations = watchAllocations();
    try {
      big.sendRequest({ type: CMD.WRITE, handle: 7n, offset: 0, length: payload.length });
      big.send(payload);
      expect(await big.readReply(0, 20_000)).toMatchObject({ error: EINVAL, handle: 7n });
      expect(allocations.largest()).toBeLessThan(MiB);
    } finally {
      allocations.stop();
    }
    expect(t.device('big').ops).toEqual([]);
    await roundTrip(big);
  });

  it('survives a client that announces a 4 GiB write and hangs up, without allocating it', async () => {
    const big = await open('big');
    const allocations = watchAllocations();
    try {
      big.sendRequest({ type: CMD.WRITE, handle: 8n, offset: 0, length: 0xffffffff });
      big.send(Buffer.alloc(64 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 50));
      big.destroy();
      await roundTrip(await open('big'));
      expect(allocations.largest()).toBeLessThan(MiB);
    } finally {
      allocations.stop();
    }
    expect(t.device('big').ops.map((op) => op.op)).toEqual(['write', 'read']);
  });

  it('closes the connection on a bad request magic; other connections keep working', async () => {
    const other = await open();
    c.sendRequest({ type: CMD.READ, magic: 0xdeadbeef, offset: 0, length: 512 });
    expect(await c.closesWithin()).toBe(true);
    await roundTrip(other);
    expect(t.logger.records.some((r) => r.level === 'warn' && r.fields.error === 'bad request magic')).toBe(
      true,
    );
  });

  it('answers unknown commands and invalid flags with EINVAL', async () => {
    const cases = [
      { type: CMD.CACHE, offset: 0, length: 512 },
      { type: CMD.BLOCK_STATUS, offset: 0, length: 512 },
      { type: 99, offset: 0, length: 0 },
      { type: CMD.READ, flags: FLAG.NO_HOLE, offset: 0, length: 512 },
      { type: CMD.READ, flags: FLAG.DF, offset: 0, length: 512 },
      { type: CMD.WRITE_ZEROES, flags: FLAG.FAST_ZERO, offset: 0, length: 512 },
      { type: CMD.WRITE, flags: 1 << 9, offset: 0, payload: Buffer.alloc(512, 1) },
      { type: CMD.FLUSH, offset: 0, length: 512 },
    ];
    for (const [i, spec] of cases.entries()) {
      c.sendRequest({ ...spec, handle: BigInt(100 + i) });
      expect(await c.readReply(spec.length ?? 0)).toMatchObject({ error: EINVAL, handle: BigInt(100 + i) });
    }
    expect(t.device('disk0').ops).toEqual([]);
    await roundTrip(c);
  });

  it('answers a device I/O error with EIO and keeps the connection', async () => {
    t.device('disk0').failNext('write');
    c.sendRequest({ type: CMD.WRITE, handle: 10n, offset: 0, payload: Buffer.alloc(512, 1) });
    expect(await c.readReply()).toMatchObject({ error: EIO, handle: 10n });
    t.device('disk0').failNext('read');
    c.sendRequest({ type: CMD.READ, handle: 11n, offset: 0, length: 4096 });
    // A failed read carries no data: the next bytes are the next reply.
    expect(await c.readReply()).toMatchObject({ error: EIO, handle: 11n });
    t.device('disk0').failNext('flush');
    c.sendRequest({ type: CMD.FLUSH, handle: 12n });
    expect(await c.readReply()).toMatchObject({ error: EIO, handle: 12n });
    await roundTrip(c);
    expect(t.logger.records.filter((r) => r.msg === 'nbd device error')).toHaveLength(3);
  });

  it('accepts zero-length requests without touching the device', async () => {
    for (const type of [CMD.READ, CMD.WRITE, CMD.TRIM, CMD.WRITE_ZEROES]) {
      c.sendRequest({ type, handle: 20n, offset: SIZE, length: 0 });
      expect(await c.readReply()).toMatchObject({ error: 0, handle: 20n });
    }
    expect(t.device('disk0').ops).toEqual([]);
  });

  it('applies pipelined requests to the device strictly in arrival order, one at a time', async () => {
    const requests: Parameters<RawNbdClient['sendRequest']>[0][] = [];
    for (let i = 0; i < 200; i++) {
      const offset = (i * 4096) % (SIZE - 8192);
      switch (i % 5) {
        case 0:
        case 1:
          requests.push({ type: CMD.WRITE, offset, payload: Buffer.alloc(8192, i & 0xff), flags: i % 2 });
          break;
        case 2:
          requests.push({ type: CMD.WRITE_ZEROES, offset, length: 4096, flags: FLAG.NO_HOLE });
          break;
        case 3:
          requests.push({ type: CMD.TRIM, offset, length: 4096 });
          break;
        default:
          requests.push({ type: CMD.FLUSH });
      }
    }
    for (const [i, request] of requests.entries()) c.sendRequest({ ...request, handle: BigInt(i) });
    for (let i = 0; i < requests.length; i++) {
      expect(await c.readReply()).toMatchObject({ error: 0, handle: BigInt(i) });
    }
    const device = t.device('disk0');
    const expected = requests.map((r) =>
      r.type === CMD.WRITE
        ? 'write'
        : r.type === CMD.WRITE_ZEROES
          ? 'writeZeroes'
          : r.type === CMD.TRIM
            ? 'trim'
            : 'flush',
    );
    expect(device.ops.map((op) => op.op)).toEqual(expected);
    expect(device.ops.filter((op) => op.op === 'write').map((op) => op.first)).toEqual(
      requests.filter((r) => r.type === CMD.WRITE).map((r) => r.payload![0]),
    );
    expect(device.maxInFlight).toBe(1);
  });

  it('passes FUA on writes and zeroes, and flushes after a FUA trim', async () => {
    c.sendRequest({ type: CMD.WRITE, flags: FLAG.FUA, handle: 1n, offset: 0, payload: Buffer.alloc(512, 3) });
    c.sendRequest({ type: CMD.WRITE_ZEROES, flags: FLAG.FUA, handle: 2n, offset: 0, length: 512 });
    c.sendRequest({ type: CMD.TRIM, flags: FLAG.FUA, handle: 3n, offset: 0, length: 512 });
    for (let i = 1n; i <= 3n; i++) expect(await c.readReply()).toMatchObject({ error: 0, handle: i });
    expect(t.device('disk0').ops).toEqual([
      { op: 'write', offset: 0, length: 512, fua: true, first: 3 },
      { op: 'writeZeroes', offset: 0, length: 512, fua: true, mayTrim: true },
      { op: 'trim', offset: 0, length: 512 },
      { op: 'flush' },
    ]);
  });

  it('stops reading the socket while a request is being served', async () => {
    const device = t.device('disk0');
    const held = device.hold();
    const payload = Buffer.alloc(MiB, 0x5c);
    for (let i = 0; i < 64; i++) c.sendRequest({ type: CMD.WRITE, handle: BigInt(i), offset: 0, payload });
    await held;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Kernel buffers hold a few MiB at most; the rest must still wait in the client.
    expect(c.socket.writableLength).toBeGreaterThan(32 * MiB);
    expect(device.ops).toHaveLength(1);
    device.release();
    for (let i = 0; i < 64; i++)
      expect(await c.readReply(0, 20_000)).toMatchObject({ error: 0, handle: BigInt(i) });
    expect(device.ops).toHaveLength(64);
  });

  it('serves the requests before NBD_CMD_DISC, then closes', async () => {
    c.sendRequest({ type: CMD.WRITE, handle: 1n, offset: 0, payload: Buffer.alloc(512, 9) });
    c.sendRequest({ type: CMD.DISC, handle: 2n });
    expect(await c.readReply()).toMatchObject({ error: 0, handle: 1n });
    expect(await c.closesWithin()).toBe(true);
    expect(t.device('disk0').inner.snapshot()[0]).toBe(9);
  });
});

describe('NBD server shutdown', () => {
  it('lets the request in flight finish and reply, then ends every connection', async () => {
    const t = await startTestServer({ disk0: MiB });
    const busy = await RawNbdClient.connect(t.port);
    const idle = await RawNbdClient.connect(t.port);
    const negotiating = await RawNbdClient.connect(t.port);
    try {
      await busy.open('disk0');
      await idle.open('disk0');
      await negotiating.handshake();
      const device = t.device('disk0');
      const held = device.hold();
      busy.sendRequest({ type: CMD.WRITE, handle: 42n, offset: 0, payload: Buffer.alloc(4096, 0x42) });
      await held;

      let closed = false;
      const closing = t.close().then(() => (closed = true));
      expect(await idle.closesWithin()).toBe(true);
      expect(await negotiating.closesWithin()).toBe(true);
      expect(await busy.closesWithin(200)).toBe(false);
      expect(closed).toBe(false);

      device.release();
      expect(await busy.readReply()).toMatchObject({ error: 0, handle: 42n });
      expect(await busy.closesWithin()).toBe(true);
      await closing;
      expect(device.inner.snapshot()[4095]).toBe(0x42);

      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(t.port, '127.0.0.1');
        socket.on('connect', () => (socket.destroy(), resolve(false)));
        socket.on('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      busy.destroy();
      idle.destroy();
      negotiating.destroy();
    }
  });

  it('does not serve a request that arrives after close() began', async () => {
    const t = await startTestServer({ disk0: MiB });
    const late = await RawNbdClient.connect(t.port);
    try {
      await late.open('disk0');
      const closing = t.close();
      late.sendRequest({ type: CMD.WRITE, handle: 1n, offset: 0, payload: Buffer.alloc(512, 1) });
      await closing;
      expect(await late.closesWithin()).toBe(true);
      expect(t.device('disk0').ops).toEqual([]);
    } finally {
      late.destroy();
    }
  });

  it('closes twice without complaint', async () => {
    const t = await startTestServer({ disk0: MiB });
    await Promise.all([t.close(), t.close()]);
    await t.close();
  });
});
