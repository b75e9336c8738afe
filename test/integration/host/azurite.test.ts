import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { startAzurite } from '../../../host/azurite';
import { isTidemarkError } from '../../../shared/errors';

describe('Azurite launcher', () => {
  it('keeps data in its folder across restarts', async () => {
    const location = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-azurite-'));
    try {
      const first = await startAzurite({ location });
      const blobs = BlobServiceClient.fromConnectionString(first.connectionString);
      await blobs.getContainerClient('keep').create();
      await blobs.getContainerClient('keep').getBlockBlobClient('a.txt').upload('hello', 5);
      await first.stop();

      const second = await startAzurite({ location });
      try {
        const again = BlobServiceClient.fromConnectionString(second.connectionString);
        const text = await again.getContainerClient('keep').getBlockBlobClient('a.txt').downloadToBuffer();
        expect(text.toString()).toBe('hello');
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(location, { recursive: true, force: true });
    }
  });

  it('fails clearly when a port is taken', async () => {
    const first = await startAzurite();
    try {
      await startAzurite({ blobPort: first.blobPort, startTimeoutMs: 10_000 }).then(
        () => expect.unreachable('second Azurite should not start'),
        (err: unknown) => {
          expect(isTidemarkError(err, 'StorageUnavailable')).toBe(true);
          expect((err as Error).message).toMatch(/failed to start/);
        },
      );
    } finally {
      await first.stop();
    }
  });
});
