/**
 * An Azurite that can be stopped and started again on the same ports and data folder, as a region's
 * storage going away and coming back: data is kept in a folder (not in memory), the ports picked at
 * the first start are reused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type AzuriteInstance, startAzurite } from '../../../host/azurite';

export class RestartableAzurite {
  #instance: AzuriteInstance | undefined;

  private constructor(
    readonly name: string,
    readonly location: string,
    instance: AzuriteInstance,
  ) {
    this.#instance = instance;
    this.blobPort = instance.blobPort;
    this.queuePort = instance.queuePort;
    this.tablePort = instance.tablePort;
    this.connectionString = instance.connectionString;
  }

  readonly blobPort: number;
  readonly queuePort: number;
  readonly tablePort: number;
  /** The same for every start: same host and ports. */
  readonly connectionString: string;

  static async start(name: string): Promise<RestartableAzurite> {
    const location = fs.mkdtempSync(path.join(os.tmpdir(), `tidemark-faults-${name}-`));
    return new RestartableAzurite(name, location, await startAzurite({ name, location }));
  }

  get running(): boolean {
    return this.#instance !== undefined;
  }

  /** Stops it (SIGTERM: Azurite saves its metadata and exits). */
  async stop(): Promise<void> {
    const instance = this.#instance;
    this.#instance = undefined;
    await instance?.stop();
  }

  /** Starts it again on the same ports and folder. */
  async start(): Promise<void> {
    if (this.#instance) return;
    let lastError: unknown;
    // A port can stay busy for a moment after the old process exits.
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        this.#instance = await startAzurite({
          name: this.name,
          location: this.location,
          blobPort: this.blobPort,
          queuePort: this.queuePort,
          tablePort: this.tablePort,
        });
        return;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw lastError;
  }

  /** Stops it and removes its data folder. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.location, { recursive: true, force: true });
  }
}
