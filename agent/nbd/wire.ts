import type { Socket } from 'node:net';
import { connectionClosed } from './errors';

/**
 * Exact-length reads and flow-controlled writes on one socket. The socket only flows while a read
 * is waiting for bytes; otherwise it is paused, so a client cannot push more than one TCP window
 * (plus one chunk) ahead of the request being served.
 */
export class SocketWire {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  /** Bytes the read in progress still needs; the socket keeps flowing until they are buffered. */
  private wanted = 0;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= this.wanted) this.socket.pause();
      this.wake();
    });
    socket.on('end', () => this.fail(connectionClosed()));
    socket.on('close', () => this.fail(connectionClosed()));
    // Resets and broken pipes just mean the peer is gone.
    socket.on('error', (error) => this.fail(connectionClosed(`connection error: ${error.message}`)));
    socket.pause();
  }

  /** Reads exactly `length` bytes; the caller bounds `length`. */
  async read(length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    if (this.buffered >= length) return this.take(length);
    const out = Buffer.allocUnsafe(length);
    await this.drain(length, (piece, at) => piece.copy(out, at));
    return out;
  }

  /** Reads and drops `length` bytes without holding them. */
  async skip(length: number): Promise<void> {
    await this.drain(length, () => undefined);
  }

  /** Writes `parts` back to back, waiting while the socket's send buffer is full. */
  async write(...parts: Buffer[]): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) throw this.failure ?? connectionClosed();
    this.socket.cork();
    let flowing = true;
    for (const part of parts) flowing = this.socket.write(part);
    this.socket.uncork();
    if (flowing) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.socket.destroyed) reject(this.failure ?? connectionClosed());
        else resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async drain(length: number, sink: (piece: Buffer, at: number) => void): Promise<void> {
    let at = 0;
    try {
      while (at < length) {
        this.wanted = length - at;
        if (this.buffered === 0) await this.more();
        const piece = this.take(Math.min(length - at, this.chunks[0]!.length));
        sink(piece, at);
        at += piece.length;
      }
    } finally {
      this.wanted = 0;
    }
  }

  /** Resolves once at least one more byte is buffered. */
  private more(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.resume();
    });
  }

  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let at = 0;
      while (at < length) {
        const chunk = this.chunks[0]!;
        const n = Math.min(chunk.length, length - at);
        chunk.copy(out, at, 0, n);
        at += n;
        if (n === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(n);
      }
    }
    this.buffered -= length;
    return out;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}
