/**
 * A TCP proxy between the mobility agent and the cache, to break the network at chosen moments:
 *
 * - `forward`: bytes pass both ways;
 * - `stall`: what the client sends is swallowed (a request in flight never reaches storage);
 * - `holdResponses`: requests reach storage, answers never come back (a delta lands in the cache
 *   but the agent never learns it did).
 *
 * `forward()` after a stall or hold resets the connections that were caught, as a network that comes
 * back after a partition would. `requests` lists the request lines the client sent (e.g. the delta
 * names being uploaded).
 */
import net from 'node:net';

type Mode = 'forward' | 'stall' | 'holdResponses';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  caught: boolean;
}

const REQUEST_LINE = /(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP\/1\.1/g;

export class TcpProxy {
  #mode: Mode = 'forward';
  readonly #pairs = new Set<Pair>();
  /** Request lines seen, with the mode they were sent in. */
  readonly requests: { line: string; mode: Mode; at: number }[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  get mode(): Mode {
    return this.#mode;
  }

  #accept(client: net.Socket): void {
    const server = net.connect(this.targetPort, '127.0.0.1');
    const pair: Pair = { client, server, caught: false };
    this.#pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      server.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        this.requests.push({ line: `${m[1]} ${m[2]}`, mode: this.#mode, at: Date.now() });
      }
      if (this.#mode === 'stall') {
        pair.caught = true;
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (this.#mode === 'holdResponses') {
        pair.caught = true;
        return;
      }
      client.write(chunk);
    });
  }

  stall(): void {
    this.#mode = 'stall';
  }

  holdResponses(): void {
    this.#mode = 'holdResponses';
  }

  /** Forwards again; the connections caught stalling or holding are reset. */
  forward(): void {
    this.#mode = 'forward';
    for (const pair of this.#pairs) {
      if (!pair.caught) continue;
      pair.client.destroy();
      pair.server.destroy();
      this.#pairs.delete(pair);
    }
  }

  /** Delta uploads (`PUT …/{seq}.delta`) sent while in `mode`, as sequence numbers. */
  deltaUploads(mode: Mode): number[] {
    return this.requests
      .filter((r) => r.mode === mode && r.line.startsWith('PUT '))
      .map((r) => /\/(\d{20})\.delta(\?|$)/.exec(r.line)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number);
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
