import os from 'node:os';

import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import { Settings } from '../../../host/settings';
import {
  blobsSectionSchema,
  loadBlobTriggerConfig,
  retryDelaySeconds,
} from '../../../host/triggers/blob/config';
import {
  decodeMessage,
  encodeMessage,
  hostQueueName,
  normalizeETag,
} from '../../../host/triggers/blob/messages';
import { compileBlobPath, splitBlobPath, tokenizeBlobPattern } from '../../../host/triggers/blob/path';
import { blobOfEvent } from '../../../host/triggers/blob/webhook';

const settings = new Settings({ CONTAINER: 'deltas', PREFIX: 'vm1' });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidConfig error');
}

describe('blob trigger paths', () => {
  it('captures {name} over the whole blob name, slashes included', () => {
    const p = compileBlobPath('samples/{name}', settings);
    expect(p.container).toBe('samples');
    expect(p.prefix).toBe('');
    expect(p.match('a.txt')).toEqual({ name: 'a.txt' });
    expect(p.match('dir/sub/a.txt')).toEqual({ name: 'dir/sub/a.txt' });
  });

  it('splits {folder}/{name}.{ext} greedily like the SDK capture regex', () => {
    const p = compileBlobPath('samples/{folder}/{name}.{ext}', settings);
    expect(p.params).toEqual(['folder', 'name', 'ext']);
    expect(p.match('in/photo.png')).toEqual({ folder: 'in', name: 'photo', ext: 'png' });
    expect(p.match('a/b/c.d.e')).toEqual({ folder: 'a/b', name: 'c.d', ext: 'e' });
    expect(p.match('noext')).toBeUndefined();
    expect(p.match('flat.png')).toBeUndefined();
  });

  it('uses the literal text before the first placeholder as the listing prefix', () => {
    const p = compileBlobPath('samples/prefix-{name}', settings);
    expect(p.prefix).toBe('prefix-');
    expect(p.match('prefix-x')).toEqual({ name: 'x' });
    expect(p.match('other-x')).toBeUndefined();
    expect(p.match('PREFIX-x')).toBeUndefined();
  });

  it('matches a literal path with no placeholders exactly', () => {
    const p = compileBlobPath('samples/exact.txt', settings);
    expect(p.match('exact.txt')).toEqual({});
    expect(p.match('exact.txt2')).toBeUndefined();
    expect(p.match('exactXtxt')).toBeUndefined();
  });

  it('treats {{ and }} as literal braces', () => {
    expect(tokenizeBlobPattern('{{x}}-{name}')).toEqual([{ literal: '{x}-' }, { param: 'name' }]);
    const p = compileBlobPath('samples/{{x}}-{name}', settings);
    expect(p.prefix).toBe('{x}-');
    expect(p.match('{x}-abc')).toEqual({ name: 'abc' });
    expect(p.match('x-abc')).toBeUndefined();
  });

  it('resolves %Setting% references in container and blob parts', () => {
    const p = compileBlobPath('%CONTAINER%/%PREFIX%/{name}', settings);
    expect(p.pattern).toBe('deltas/vm1/{name}');
    expect(p.container).toBe('deltas');
    expect(p.prefix).toBe('vm1/');
    expect(p.match('vm1/0001.delta')).toEqual({ name: '0001.delta' });
    expect(configError(() => compileBlobPath('%MISSING%/{name}', settings))).toMatch(/MISSING/);
  });

  it('escapes regex characters in literal text', () => {
    const p = compileBlobPath('samples/a+b(1).[x]/{name}', settings);
    expect(p.match('a+b(1).[x]/q')).toEqual({ name: 'q' });
    expect(p.match('aab(1).[x]/q')).toBeUndefined();
  });

  it('rejects malformed paths with a config error', () => {
    expect(configError(() => compileBlobPath('samples', settings))).toMatch(/container\/blob/);
    expect(configError(() => compileBlobPath('samples/', settings))).toMatch(/container\/blob/);
    expect(configError(() => compileBlobPath('/samples/x', settings))).toMatch(/container\/blob/);
    expect(configError(() => compileBlobPath('{c}/x', settings))).toMatch(/placeholders/);
    expect(configError(() => compileBlobPath('Bad_Container/x', settings))).toMatch(/container name/);
    expect(configError(() => compileBlobPath('samples/{name', settings))).toMatch(/not closed/);
    expect(configError(() => compileBlobPath('samples/name}', settings))).toMatch(/no opening/);
    expect(configError(() => compileBlobPath('samples/{na me}', settings))).toMatch(/placeholder name/);
    expect(configError(() => compileBlobPath('samples/{a}/{A}', settings))).toMatch(/twice/);
  });

  it('splits resolved input/output binding paths', () => {
    expect(splitBlobPath('out/a/b.json', 'x')).toEqual({ container: 'out', blobName: 'a/b.json' });
    expect(() => splitBlobPath('out', 'x')).toThrow(/container\/blob/);
    expect(() => splitBlobPath('Out/x', 'x')).toThrow(/container name/);
  });
});

describe('blob trigger messages and names', () => {
  it('round-trips a BlobTriggerMessage as base64 JSON and reads plain JSON too', () => {
    const m = {
      Type: 'BlobTrigger',
      FunctionId: 'Host.Functions.f',
      BlobType: 'BlockBlob',
      ContainerName: 'c',
      BlobName: 'a/b',
      ETag: '"0x1"',
    } as const;
    const text = encodeMessage(m);
    expect(JSON.parse(Buffer.from(text, 'base64').toString())).toEqual(m);
    expect(decodeMessage(text)).toEqual(m);
    expect(decodeMessage(JSON.stringify({ ...m, ETag: '0x1' }))).toEqual(m);
    expect(decodeMessage('nonsense')).toBeUndefined();
  });

  it('normalises ETags to the quoted form', () => {
    expect(normalizeETag('0x8D1')).toBe('"0x8D1"');
    expect(normalizeETag('"0x8D1"')).toBe('"0x8D1"');
  });

  it('keeps host queue names valid', () => {
    expect(hostQueueName('blob-app-1234abcd')).toBe('azure-webjobs-blobtrigger-blob-app-1234abcd');
    expect(hostQueueName('My--Host_')).toBe('azure-webjobs-blobtrigger-my-host');
    expect(hostQueueName('x'.repeat(40)).length).toBeLessThanOrEqual(63);
  });

  it('finds the blob of a BlobCreated event by subject or URL', () => {
    const account = 'http://127.0.0.1:10000/devstoreaccount1';
    expect(blobOfEvent({ subject: '/blobServices/default/containers/c1/blobs/a/b.txt' }, account)).toEqual({
      container: 'c1',
      blobName: 'a/b.txt',
    });
    expect(blobOfEvent({ data: { url: `${account}/c1/dir/x%20y.txt` } }, account)).toEqual({
      container: 'c1',
      blobName: 'dir/x y.txt',
    });
    expect(
      blobOfEvent(
        { data: { url: 'https://acct.blob.core.windows.net/c2/n' } },
        'https://acct.blob.core.windows.net/',
      ),
    ).toEqual({ container: 'c2', blobName: 'n' });
  });
});

describe('blob trigger configuration', () => {
  it('applies the Azure defaults to extensions.blobs', () => {
    const parsed = blobsSectionSchema.parse({});
    expect(parsed.poisonBlobThreshold).toBe(5);
    expect(parsed.maxDegreeOfParallelism).toBe(8 * os.availableParallelism());
  });

  it('validates host.json and the local settings', () => {
    const hostJson = { version: '2.0' as const, extensions: { blobs: { poisonBlobThreshold: 0 } } };
    expect(configError(() => loadBlobTriggerConfig(hostJson, new Settings({})))).toMatch(
      /poisonBlobThreshold/,
    );
    const ok = loadBlobTriggerConfig(
      { version: '2.0', extensions: { blobs: { maxDegreeOfParallelism: 3 } } },
      new Settings({ TIDEMARK_BLOB_POLL_INTERVAL_MS: '100', TIDEMARK_BLOB_RETRY_DELAY_SECONDS: '2' }),
    );
    expect(ok).toEqual({
      maxDegreeOfParallelism: 3,
      poisonBlobThreshold: 5,
      pollIntervalMs: 100,
      retryDelaySeconds: 2,
    });
    expect(
      configError(() =>
        loadBlobTriggerConfig({ version: '2.0' }, new Settings({ TIDEMARK_BLOB_POLL_INTERVAL_MS: 'soon' })),
      ),
    ).toMatch(/pollIntervalMs/);
  });

  it('backs retries off exponentially up to a minute', () => {
    const config = {
      maxDegreeOfParallelism: 1,
      poisonBlobThreshold: 5,
      pollIntervalMs: 250,
      retryDelaySeconds: 1,
    };
    expect([1, 2, 3, 4, 8].map((n) => retryDelaySeconds(config, n))).toEqual([1, 2, 4, 8, 60]);
    expect(retryDelaySeconds({ ...config, retryDelaySeconds: 0 }, 3)).toBe(0);
  });
});
