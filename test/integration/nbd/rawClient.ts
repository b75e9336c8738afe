import { connect, type Socket } from 'node:net';

/**
 * A bare NBD client over a raw socket, for the cases real clients never produce: bad magic,
 * oversized lengths, out-of-range requests, pipelining without waiting for replies.
 */

export const NBD_MAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

export interface OptionReply {
  option: number;
  type: number;
  data: Buffer;
}

export interface SimpleReply {
  error: number;
  handle: bigint;
  data: Buffer;
}

export interface RequestSpec {
  type: number;
  flags?: number;
  handle?: bigint;
  offset?: bigint | number;
  length?: number;
  payload?: Buffer;
  magic?: number;
}

export class RawNbdClient {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.notify();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.notify();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawNbdClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawNbdClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Resolves with exactly `length` bytes, or rejects if the server closes first or time runs out. */
  async read(length: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < length) {
      if (this.ended) throw new Error(`connection closed with ${this.buffered}/${length} bytes read`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${length} bytes (have ${this.buffered})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, length);
  }

  /** True if the server closes the connection within the time. */
  async closesWithin(timeoutMs = 5000): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([this.closed.then(() => true), timeout]);
  }

  send(data: Buffer): boolean {
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Reads the greeting and answers with the given client flags (default FIXED_NEWSTYLE|NO_ZEROES). */
  async handshake(clientFlags = 0b11): Promise<{ flags: number }> {
    const greeting = await this.read(18);
    if (greeting.readBigUInt64BE(0) !== NBD_MAGIC || greeting.readBigUInt64BE(8) !== IHAVEOPT) {
      throw new Error('bad greeting');
    }
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(clientFlags);
    this.send(flags);
    return { flags: greeting.readUInt16BE(16) };
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0), declaredLength = data.length): void {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(IHAVEOPT, 0);
    header.writeUInt32BE(option, 8);
    header.writeUInt32BE(declaredLength, 12);
    this.send(Buffer.concat([header, data]));
  }

  async readOptionReply(): Promise<OptionReply> {
    const header = await this.read(20);
    if (header.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) throw new Error('bad option reply magic');
    const length = header.readUInt32BE(16);
    return { option: header.readUInt32BE(8), type: header.readUInt32BE(12), data: await this.read(length) };
  }

  /** Handshake plus NBD_OPT_GO; resolves with the NBD_INFO_EXPORT contents. */
  async open(name: string): Promise<{ size: bigint; flags: number; replies: OptionReply[] }> {
    await this.handshake();
    this.sendOption(7, encodeInfoRequest(name, []));
    const replies: OptionReply[] = [];
    for (;;) {
      const reply = await this.readOptionReply();
      replies.push(reply);
      if (reply.type === 1) break;
      if (reply.type >= 2 ** 31) throw new Error(`GO failed with 0x${reply.type.toString(16)}`);
    }
    const exportInfo = replies.find((r) => r.type === 3 && r.data.readUInt16BE(0) === 0);
    if (!exportInfo) throw new Error('no NBD_INFO_EXPORT');
    return { size: exportInfo.data.readBigUInt64BE(2), flags: exportInfo.data.readUInt16BE(10), replies };
  }

  sendRequest(spec: RequestSpec): boolean {
    const header = Buffer.alloc(28);
    header.writeUInt32BE(spec.magic ?? REQUEST_MAGIC, 0);
    header.writeUInt16BE(spec.flags ?? 0, 4);
    header.writeUInt16BE(spec.type, 6);
    header.writeBigUInt64BE(spec.handle ?? 1n, 8);
    header.writeBigUInt64BE(BigInt(spec.offset ?? 0), 16);
    header.writeUInt32BE(spec.length ?? spec.payload?.length ?? 0, 24);
    return this.send(spec.payload ? Buffer.concat([header, spec.payload]) : header);
  }

  /** Reads a simple reply; `dataLength` bytes follow it only for a successful read. */
  async readReply(dataLength = 0, timeoutMs = 5000): Promise<SimpleReply> {
    const header = await this.read(16, timeoutMs);
    if (header.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new Error('bad reply magic');
    const error = header.readUInt32BE(4);
    const data = error === 0 && dataLength > 0 ? await this.read(dataLength, timeoutMs) : Buffer.alloc(0);
    return { error, handle: header.readBigUInt64BE(8), data };
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export function encodeInfoRequest(name: string, requests: number[]): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const data = Buffer.alloc(4 + nameBytes.length + 2 + 2 * requests.length);
  data.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(data, 4);
  data.writeUInt16BE(requests.length, 4 + nameBytes.length);
  requests.forEach((request, i) => data.writeUInt16BE(request, 6 + nameBytes.length + 2 * i));
  return data;
}
