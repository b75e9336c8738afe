import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isConnectionClosed } from '../../../agent/nbd/errors';
import { SocketWire } from '../../../agent/nbd/wire';

/** A connected socket pair over loopback: `server` side wrapped by SocketWire, `client` raw. */
async function pair(): Promise<{ wire: SocketWire; server: Socket; client: Socket; close(): void }> {
  const listener = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const server = await accepted;
  listener.close();
  return {
    wire: new SocketWire(server),
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
    },
  };
}

describe('SocketWire', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('reads exact lengths across chunk boundaries', async () => {
    const p = await pair();
    cleanup = p.close;
    p.client.write(Buffer.from('abc'));
    p.client.write(Buffer.from('defgh'));
    expect((await p.wire.read(2)).toString()).toBe('ab');
    expect((await p.wire.read(5)).toString()).toBe('cdefg');
    const later = p.wire.read(3);
    p.client.write(Buffer.from('ij'));
    expect((await later).toString()).toBe('hij');
    expect((await p.wire.read(0)).length).toBe(0);
  });

  it('skips bytes without returning them', async () => {
    const p = await pair();
    cleanup = p.close;
    p.client.write(Buffer.alloc(200_000, 1));
    p.client.write(Buffer.from('tail'));
    await p.wire.skip(200_000);
    expect((await p.wire.read(4)).toString()).toBe('tail');
  });

  it('hands out what was buffered before the peer closed, then reports the close', async () => {
    const p = await pair();
    cleanup = p.close;
    p.client.end(Buffer.from('last'));
    expect((await p.wire.read(4)).toString()).toBe('last');
    await expect(p.wire.read(1)).rejects.toSatisfy(isConnectionClosed);
  });

  it('keeps the socket paused while no read is waiting', async () => {
    const p = await pair();
    cleanup = p.close;
    p.client.write(Buffer.from('12345678'));
    expect((await p.wire.read(1)).toString()).toBe('1');
    expect(p.server.isPaused()).toBe(true);
  });

  it('writes several parts in order', async () => {
    const p = await pair();
    cleanup = p.close;
    const received: Buffer[] = [];
    p.client.on('data', (chunk: Buffer) => received.push(chunk));
    await p.wire.write(Buffer.from('head'), Buffer.from('-body'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Buffer.concat(received).toString()).toBe('head-body');
  });
});
