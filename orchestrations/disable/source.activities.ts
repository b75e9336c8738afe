/**
 * The source region as disable replication reaches it. It may be down (the very reason a VM was failed
 * over), so calls there use a client that gives up after a few seconds, and a region that does not
 * answer is an outcome the job warns about, not an error that fails it.
 */
import { BlobServiceClient } from '@azure/storage-blob';

import type { Direction } from '../../shared/direction';
import { classifyError } from '../../shared/http/problem';
import { workflowServices } from '../../shared/workflows/services';
import type { SourceOutcome } from './types';

const clients = new Map<Direction, BlobServiceClient>();

function sourceBlobs(direction: Direction): BlobServiceClient {
  let client = clients.get(direction);
  if (!client) {
    client = BlobServiceClient.fromConnectionString(workflowServices(direction).sourceConnectionString, {
      retryOptions: { maxTries: 3, retryDelayInMs: 1000, maxRetryDelayInMs: 2000, tryTimeoutInMs: 20_000 },
    });
    clients.set(direction, client);
  }
  return client;
}

/** Runs `work` against the direction's source region; `{reachable: false}` when its storage does not answer. */
export async function inSource<T extends object>(
  direction: Direction,
  work: (source: BlobServiceClient) => Promise<T>,
): Promise<SourceOutcome<T>> {
  try {
    return { reachable: true, ...(await work(sourceBlobs(direction))) };
  } catch (err) {
    const e = classifyError(err);
    if (e.code !== 'StorageUnavailable') throw err;
    return { reachable: false, error: e.message.split('\n')[0] ?? e.message };
  }
}
