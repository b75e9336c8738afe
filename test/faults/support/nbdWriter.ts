/**
 * An NBD client for one export that writes one request at a time and knows exactly which writes the
 * server acknowledged: `write()` resolves when the server's reply says the write is done (the
 * mobility agent answers only after the write is on the disk and in its journal), and rejects when
 * the connection drops first. Built on the bare client of the NBD tests.
 */
import { RawNbdClient } from '../../integration/nbd/rawClient';

const NBD_CMD_WRITE = 1;
const NBD_CMD_DISC = 2;
const NBD_CMD_FLUSH = 3;

export class NbdWriter {
  #handle = 1n;

  private constructor(
    private readonly client: RawNbdClient,
    readonly exportName: string,
    readonly size: number,
  ) {}

  static async open(port: number, exportName: string): Promise<NbdWriter> {
    const client = await RawNbdClient.connect(port);
    try {
      const { size } = await client.open(exportName);
      return new NbdWriter(client, exportName, Number(size));
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** Resolves once the server acknowledged the write; `timeoutMs` is long: a full journal blocks writers. */
  async write(offset: number, data: Buffer, timeoutMs = 15 * 60_000): Promise<void> {
    const handle = this.#handle++;
    this.client.sendRequest({ type: NBD_CMD_WRITE, handle, offset, payload: data });
    await this.#reply(handle, timeoutMs);
  }

  async flush(timeoutMs = 60_000): Promise<void> {
    const handle = this.#handle++;
    this.client.sendRequest({ type: NBD_CMD_FLUSH, handle });
    await this.#reply(handle, timeoutMs);
  }

  async #reply(handle: bigint, timeoutMs: number): Promise<void> {
    const reply = await this.client.readReply(0, timeoutMs);
    if (reply.handle !== handle) throw new Error(`NBD reply for handle ${reply.handle}, expected ${handle}`);
    if (reply.error !== 0) throw new Error(`NBD error ${reply.error} on ${this.exportName}`);
  }

  /** Asks the server to disconnect, then closes the socket. */
  close(): void {
    try {
      this.client.sendRequest({ type: NBD_CMD_DISC, handle: this.#handle++ });
    } catch {
      // already gone
    }
    this.client.destroy();
  }
}
