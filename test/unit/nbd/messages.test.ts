import { describe, expect, it } from 'vitest';
import {
  decodeInfoRequest,
  decodeOptionHeader,
  decodeRequestHeader,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeOptionError,
  encodeServerReply,
  encodeSimpleReply,
  isRequestMagic,
} from '../../../agent/nbd/messages';

describe('NBD message encoding', () => {
  it('greets with NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE|NO_ZEROES', () => {
    expect(encodeGreeting().toString('hex')).toBe('4e42444d41474943' + '49484156454f5054' + '0003');
  });

  it('frames option replies with the reply magic, option, type and length', () => {
    const reply = encodeOptionError(7, 0x80000006, 'nope');
    expect(reply.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
    expect([reply.readUInt32BE(8), reply.readUInt32BE(12), reply.readUInt32BE(16)]).toEqual([
      7, 0x80000006, 4,
    ]);
    expect(reply.subarray(20).toString()).toBe('nope');
  });

  it('encodes NBD_REP_SERVER as a length-prefixed name', () => {
    const data = encodeServerReply(3, 'vm1-os').subarray(20);
    expect(data.readUInt32BE(0)).toBe(6);
    expect(data.subarray(4).toString()).toBe('vm1-os');
  });

  it('encodes NBD_INFO_EXPORT, NAME and BLOCK_SIZE', () => {
    const exportInfo = encodeInfoExport(7, 2 ** 40, 0x6d).subarray(20);
    expect(exportInfo.length).toBe(12);
    expect([exportInfo.readUInt16BE(0), exportInfo.readBigUInt64BE(2), exportInfo.readUInt16BE(10)]).toEqual([
      0,
      2n ** 40n,
      0x6d,
    ]);
    const name = encodeInfoString(6, 1, 'disk').subarray(20);
    expect([name.readUInt16BE(0), name.subarray(2).toString()]).toEqual([1, 'disk']);
    const blockSize = encodeInfoBlockSize(7).subarray(20);
    expect(blockSize.length).toBe(14);
    expect([
      blockSize.readUInt16BE(0),
      blockSize.readUInt32BE(2),
      blockSize.readUInt32BE(6),
      blockSize.readUInt32BE(10),
    ]).toEqual([3, 1, 4096, 32 * 1024 * 1024]);
  });

  it('pads the EXPORT_NAME reply with 124 zeroes unless NO_ZEROES was agreed', () => {
    expect(encodeExportNameReply(1024, 1, false).length).toBe(134);
    const short = encodeExportNameReply(1024, 1, true);
    expect(short.length).toBe(10);
    expect([short.readBigUInt64BE(0), short.readUInt16BE(8)]).toEqual([1024n, 1]);
  });

  it('echoes the handle in a simple reply', () => {
    const reply = encodeSimpleReply(Buffer.from('0102030405060708', 'hex'), 22);
    expect(reply.toString('hex')).toBe('67446698' + '00000016' + '0102030405060708');
  });
});

describe('NBD message decoding', () => {
  it('reads option headers', () => {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(0x49484156454f5054n, 0);
    header.writeUInt32BE(7, 8);
    header.writeUInt32BE(99, 12);
    expect(decodeOptionHeader(header)).toEqual({ magic: 0x49484156454f5054n, option: 7, length: 99 });
  });

  it('reads INFO/GO requests and rejects ones whose lengths do not add up', () => {
    const good = Buffer.from('00000004' + '64697363' + '0002' + '0001' + '0003', 'hex');
    expect(decodeInfoRequest(good)).toEqual({ name: 'disc', requests: [1, 3] });
    expect(decodeInfoRequest(Buffer.from('000000000000', 'hex'))).toEqual({ name: '', requests: [] });
    expect(decodeInfoRequest(Buffer.alloc(5))).toBeUndefined();
    expect(decodeInfoRequest(Buffer.from('00000009' + '64697363' + '0000', 'hex'))).toBeUndefined();
    expect(decodeInfoRequest(Buffer.from('00000004' + '64697363' + '0002' + '0001', 'hex'))).toBeUndefined();
    expect(decodeInfoRequest(Buffer.concat([good, Buffer.alloc(1)]))).toBeUndefined();
  });

  it('reads request headers with 64-bit offsets', () => {
    const header = Buffer.from(
      '25609513' + '0001' + '0006' + 'aabbccddeeff0011' + 'ffffffffffffffff' + '00001000',
      'hex',
    );
    const request = decodeRequestHeader(header);
    expect(isRequestMagic(request)).toBe(true);
    expect(request).toMatchObject({ flags: 1, type: 6, offset: 2n ** 64n - 1n, length: 4096 });
    expect(request.handle.toString('hex')).toBe('aabbccddeeff0011');
    header.writeUInt32BE(0x25609514, 0);
    expect(isRequestMagic(decodeRequestHeader(header))).toBe(false);
  });
});
