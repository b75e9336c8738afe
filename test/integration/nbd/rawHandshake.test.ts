import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock';
import { encodeInfoRequest, IHAVEOPT, RawNbdClient } from './rawClient';
import { MiB, startTestServer, watchAllocations, type TestServer } from './support';

/** Option negotiation from a raw socket, including what real clients never send. */

const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8 } as const;
const OPT_SET_META_CONTEXT = 10;
const REP = { ACK: 1, SERVER: 2, INFO: 3 } as const;
const REP_ERR = { UNSUP: 2 ** 31 + 1, INVALID: 2 ** 31 + 3, UNKNOWN: 2 ** 31 + 6 } as const;
const CMD_READ = 0;
const EXPECTED_FLAGS = 0b1101101; // HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES

describe('NBD handshake over a raw socket', () => {
  let t: TestServer;
  const clients: RawNbdClient[] = [];

  async function client(): Promise<RawNbdClient> {
    const c = await RawNbdClient.connect(t.port);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    t = await startTestServer({ disk0: 4 * MiB, disk1: MiB }, { defaultExport: 'disk1' });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await t.close();
  });

  it('greets with NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE|NO_ZEROES', async () => {
    const c = await client();
    expect(await c.handshake()).toEqual({ flags: 0b11 });
  });

  it('hangs up on unknown client flags', async () => {
    const c = await client();
    await c.handshake(0b111);
    expect(await c.closesWithin()).toBe(true);
  });

  it('hangs up on a bad option magic', async () => {
    const c = await client();
    await c.handshake();
    c.send(Buffer.alloc(16, 0x42));
    expect(await c.closesWithin()).toBe(true);
  });

  it('hangs up on an option too long to buffer, without allocating it', async () => {
    const c = await client();
    await c.handshake();
    const allocations = watchAllocations();
    try {
      c.sendOption(OPT.GO, Buffer.alloc(1024, 1), 0xffffffff);
      expect(await c.closesWithin()).toBe(true);
      expect(allocations.largest()).toBeLessThan(MiB);
    } finally {
      allocations.stop();
    }
  });

  it('answers NBD_OPT_LIST with one NBD_REP_SERVER per export, then ACK', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.LIST);
    const names: string[] = [];
    for (;;) {
      const reply = await c.readOptionReply();
      expect(reply.option).toBe(OPT.LIST);
      if (reply.type === REP.ACK) break;
      expect(reply.type).toBe(REP.SERVER);
      const length = reply.data.readUInt32BE(0);
      names.push(reply.data.toString('utf8', 4, 4 + length));
    }
    expect(names).toEqual(['disk0', 'disk1']);
  });

  it('refuses NBD_OPT_LIST with data as invalid', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.LIST, Buffer.from('x'));
    expect((await c.readOptionReply()).type).toBe(REP_ERR.INVALID);
  });

  it('refuses structured replies, TLS, meta contexts and unknown options, then carries on', async () => {
    const c = await client();
    await c.handshake();
    for (const option of [OPT.STRUCTURED_REPLY, OPT.STARTTLS, OPT_SET_META_CONTEXT, 99, 0x7fffffff]) {
      c.sendOption(option, Buffer.from('some option data'));
      const reply = await c.readOptionReply();
      expect(reply).toMatchObject({ option, type: REP_ERR.UNSUP });
      expect(reply.data.toString()).toMatch(/not supported/);
    }
    c.sendOption(OPT.LIST);
    expect((await c.readOptionReply()).type).toBe(REP.SERVER);
  });

  it('answers NBD_OPT_INFO with export, name, description and block size, and stays in negotiation', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.INFO, encodeInfoRequest('', [1, 2, 3]));
    const infos = new Map<number, Buffer>();
    for (;;) {
      const reply = await c.readOptionReply();
      if (reply.type === REP.ACK) break;
      expect(reply.type).toBe(REP.INFO);
      infos.set(reply.data.readUInt16BE(0), reply.data.subarray(2));
    }
    expect(infos.get(0)!.readBigUInt64BE(0)).toBe(BigInt(MiB));
    expect(infos.get(0)!.readUInt16BE(8)).toBe(EXPECTED_FLAGS);
    expect(infos.get(1)!.toString()).toBe('disk1'); // the default export's canonical name
    expect(infos.get(2)!.toString()).toBe('tidemark disk disk1');
    const blockSize = infos.get(3)!;
    expect([blockSize.readUInt32BE(0), blockSize.readUInt32BE(4), blockSize.readUInt32BE(8)]).toEqual([
      1,
      4096,
      32 * MiB,
    ]);
    // Still negotiating: GO works next.
    c.sendOption(OPT.GO, encodeInfoRequest('disk0', []));
    expect((await c.readOptionReply()).type).toBe(REP.INFO);
  });

  it('refuses INFO/GO whose lengths do not add up', async () => {
    const c = await client();
    await c.handshake();
    const bad = encodeInfoRequest('disk0', [1]);
    bad.writeUInt32BE(1000, 0); // name length past the end
    c.sendOption(OPT.GO, bad);
    expect((await c.readOptionReply()).type).toBe(REP_ERR.INVALID);
    c.sendOption(OPT.INFO, Buffer.concat([encodeInfoRequest('disk0', []), Buffer.from([0])]));
    expect((await c.readOptionReply()).type).toBe(REP_ERR.INVALID);
  });

  it('answers GO for an unknown export with NBD_REP_ERR_UNKNOWN and lets the client try again', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.GO, encodeInfoRequest('nope', []));
    const reply = await c.readOptionReply();
    expect(reply.type).toBe(REP_ERR.UNKNOWN);
    expect(reply.data.toString()).toBe("unknown export 'nope'");
    c.sendOption(OPT.GO, encodeInfoRequest('disk0', []));
    let type: number;
    do type = (await c.readOptionReply()).type;
    while (type === REP.INFO);
    expect(type).toBe(REP.ACK);
    c.sendRequest({ type: CMD_READ, handle: 5n, offset: 0, length: 512 });
    expect(await c.readReply(512)).toMatchObject({ error: 0, handle: 5n });
  });

  it('acknowledges NBD_OPT_ABORT and closes', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.ABORT);
    expect(await c.readOptionReply()).toMatchObject({ option: OPT.ABORT, type: REP.ACK });
    expect(await c.closesWithin()).toBe(true);
  });

  it('enters transmission on NBD_OPT_EXPORT_NAME without zero padding when NO_ZEROES was agreed', async () => {
    const c = await client();
    await c.handshake(0b11);
    c.sendOption(OPT.EXPORT_NAME, Buffer.from('disk0'));
    const reply = await c.read(10);
    expect(reply.readBigUInt64BE(0)).toBe(BigInt(4 * MiB));
    expect(reply.readUInt16BE(8)).toBe(EXPECTED_FLAGS);
    c.sendRequest({ type: CMD_READ, handle: 9n, offset: 0, length: 4 });
    // The very next bytes are the reply: no 124 zeroes in between.
    expect(await c.readReply(4)).toMatchObject({ error: 0, handle: 9n });
  });

  it('serves plain newstyle clients: EXPORT_NAME with the 124 zeroes', async () => {
    const c = await client();
    await c.handshake(0);
    c.sendOption(OPT.EXPORT_NAME, Buffer.from('disk0'));
    const reply = await c.read(10 + 124);
    expect(reply.readBigUInt64BE(0)).toBe(BigInt(4 * MiB));
    expect(reply.subarray(10).every((b) => b === 0)).toBe(true);
    c.sendRequest({ type: CMD_READ, handle: 1n, offset: 0, length: 8 });
    expect((await c.readReply(8)).error).toBe(0);
  });

  it('hangs up on a plain newstyle client sending anything but EXPORT_NAME', async () => {
    const c = await client();
    await c.handshake(0);
    c.sendOption(OPT.LIST);
    expect(await c.closesWithin()).toBe(true);
  });

  it('hangs up on EXPORT_NAME for an unknown export, as the spec requires', async () => {
    const c = await client();
    await c.handshake();
    c.sendOption(OPT.EXPORT_NAME, Buffer.from('nope'));
    expect(await c.closesWithin()).toBe(true);
    expect(t.logger.records.some((r) => r.level === 'warn' && /protocol violation/.test(r.msg))).toBe(true);
  });

  it('keeps serving other clients while one misbehaves', async () => {
    const good = await client();
    await good.open('disk0');
    const bad = await client();
    await bad.handshake();
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(IHAVEOPT ^ 1n);
    bad.send(header);
    expect(await bad.closesWithin()).toBe(true);
    good.sendRequest({ type: CMD_READ, handle: 3n, offset: 0, length: 16 });
    expect(await good.readReply(16)).toMatchObject({ error: 0, handle: 3n });
  });
});

describe('NBD handshake timeout', () => {
  it('cuts off a client that does not pick an export in time, but not one that did', async () => {
    const clock = new ManualClock();
    const t = await startTestServer({ disk0: MiB }, { clock, handshakeTimeoutMs: 10_000 });
    const slow = await RawNbdClient.connect(t.port);
    const quick = await RawNbdClient.connect(t.port);
    try {
      await slow.handshake();
      await quick.open('disk0');
      await clock.advance(10_000);
      expect(await slow.closesWithin()).toBe(true);
      quick.sendRequest({ type: CMD_READ, handle: 1n, offset: 0, length: 8 });
      expect((await quick.readReply(8)).error).toBe(0);
      expect(t.logger.records.some((r) => r.msg === 'nbd handshake timed out')).toBe(true);
    } finally {
      slow.destroy();
      quick.destroy();
      await t.close();
    }
  });
});
