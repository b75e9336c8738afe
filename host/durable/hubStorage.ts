/**
 * The Azure Storage resources of one task hub: clients for its tables, queues and blob container,
 * and their creation (idempotent) at startup.
 */
import { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';

import { TidemarkError } from '../../shared/errors';
import type { StorageAccount } from '../storage';
import type { HubResourceNames } from './hubNames';

export class HubStorage {
  readonly instances: TableClient;
  readonly history: TableClient;
  readonly timers: TableClient;
  readonly controlQueues: QueueClient[];
  readonly workItems: QueueClient;
  readonly container: ContainerClient;

  constructor(
    account: StorageAccount,
    readonly names: HubResourceNames,
  ) {
    const table = (name: string): TableClient =>
      TableClient.fromConnectionString(account.connectionString, name, { allowInsecureConnection: true });
    this.instances = table(names.instancesTable);
    this.history = table(names.historyTable);
    this.timers = table(names.timersTable);
    this.controlQueues = names.controlQueues.map((q) => account.queue.getQueueClient(q));
    this.workItems = account.queue.getQueueClient(names.workItemQueue);
    this.container = account.blob.getContainerClient(names.largeMessagesContainer);
  }

  async ensureCreated(): Promise<void> {
    try {
      await Promise.all([
        this.instances.createTable(),
        this.history.createTable(),
        this.timers.createTable(),
        ...this.controlQueues.map((q) => q.createIfNotExists()),
        this.workItems.createIfNotExists(),
        this.container.createIfNotExists(),
      ]);
    } catch (err) {
      throw new TidemarkError(
        'StorageUnavailable',
        `Could not create the task hub "${this.names.hub}": ${(err as Error).message}`,
        {
          cause: err,
          hint: 'Check that the storage account (Azurite) named by the durable connection is up.',
        },
      );
    }
  }
}
