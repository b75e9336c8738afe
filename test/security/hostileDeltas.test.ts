/**
 * Hostile bytes where tidemark reads them from storage: deltas in the cache (through the real
 * applier on Azurite, not only the codec) and the agent's config blob (through a running agent).
 * A delta that lies about its lengths is refused before anything is allocated for the lie,
 * quarantined with a reason that says what is wrong, and its VM is flagged for a resync; the
 * replicas never change. A config blob of garbage leaves the agent running, reporting configError.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { MobilityAgent } from '../../agent/agent';
import { MAX_CONFIG_BYTES } from '../../agent/agentConfig';
import { agentConfigBlobName, writeAgentConfig } from '../../shared/agentConfig';
import { ManualClock } from '../../shared/clock';
import { encodeDelta } from '../../shared/delta';
import { ENTRY, HEADER, MAX_HEADER_BYTES } from '../../shared/delta/constants';
import { RecordingLogger } from '../../shared/logger';
import { CONTAINERS } from '../../shared/storageNames';
import { createVmDisk } from '../../shared/vmDisks';
import { issueTestCacheCredentials, testAgentConfig } from '../helpers/agentCredentials';
import { useAzurite } from '../helpers/azurite';
import { waitFor } from '../helpers/waitFor';
import { entryOffsets, resealHeader } from '../unit/delta/support';
import { delta, nameOf, RIG_DISK_BYTES, useApplierRig } from './applierRig';

const RG = 'hostile-rg';
const MiB = 1024 * 1024;

/** A valid one-entry delta of `vm`'s next sequence (1), as the agent would write it. */
function goodBlob(vm: string, sequence = 1): Buffer {
  return encodeDelta(delta(`${RG}/${vm}`, sequence, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 0xab) }]));
}

/** The largest single Buffer allocation made while `fn` runs. */
async function largestAllocation<T>(fn: () => Promise<T>): Promise<{ result: T; largest: number }> {
  let largest = 0;
  const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const).map((method) => {
    const original = Buffer[method].bind(Buffer) as (size: number, ...rest: unknown[]) => Buffer;
    return vi.spyOn(Buffer, method).mockImplementation(((size: number, ...rest: unknown[]) => {
      largest = Math.max(largest, size);
      return original(size, ...rest);
    }) as never);
  });
  try {
    return { result: await fn(), largest };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('hostile deltas through the applier (real Azurite)', () => {
  const rig = useApplierRig();
  let n = 0;

  /**
   * Protects a fresh VM, puts `body` in the cache as its delta 1, runs the applier on it and
   * checks the outcome every hostile delta must have. Returns the quarantine reason.
   */
  async function refused(
    make: (vm: string) => Buffer,
    code: RegExp,
    options: { maxDeltaBytes?: number; allocBound?: number } = {},
  ): Promise<string> {
    const vm = `vm${++n}`;
    const body = make(vm);
    await rig().protect(RG, vm);
    const name = nameOf(RG, vm, 1);
    await rig().cache.getBlockBlobClient(name).uploadData(body);
    const { result, largest } = await largestAllocation(() =>
      rig().applier({ maxDeltaBytes: options.maxDeltaBytes }).onDelta(name),
    );
    expect(result).toMatchObject({ outcome: 'quarantined', sequence: 1 });
    // Nothing was allocated for what the blob claims: at most the blob itself (or its head).
    expect(largest).toBeLessThanOrEqual(options.allocBound ?? Math.max(body.length, 64 * 1024));
    const item = await rig().item(RG, vm);
    expect(item.state).toBe('ResyncRequired');
    expect(item.health).toBe('Critical');
    expect(item.watermark).toBe(0);
    expect(item.resyncReason).toMatch(code);
    expect(await rig().replicas(RG, vm)).toEqual(rig().initial());
    expect(await rig().cacheNames(name)).toEqual([]);
    const quarantined = rig().stores.quarantine.getBlobClient(name);
    const props = await quarantined.getProperties();
    expect(props.metadata?.code).toMatch(code);
    expect(decodeURIComponent(props.metadata?.reason ?? '')).toBe(item.resyncReason);
    expect(
      rig().logger.records.some(
        (r) => r.msg.startsWith('Quarantined a bad delta') && r.fields.blobName === name,
      ),
    ).toBe(true);
    return item.resyncReason!;
  }

  it('entry length 4294967295 (2^32 - 1): refused before allocating, quarantined', async () => {
    const lie = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob.writeUInt32LE(2 ** 32 - 1, entryOffsets(blob)[0]! + ENTRY.length);
      return blob;
    };
    expect(await refused(lie, /DeltaMisaligned/)).toMatch(/length 4294967295 is not a multiple of 512/);
  });

  it('entry length 4294966784 (aligned, 2^32 - 512): refused as oversized, quarantined', async () => {
    const lie = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob.writeUInt32LE(2 ** 32 - 512, entryOffsets(blob)[0]! + ENTRY.length);
      return blob;
    };
    expect(await refused(lie, /DeltaOversized/)).toMatch(/4294966784 bytes, more than 4194304/);
  });

  it('entry count 2147483648 (2^31): refused from the header alone, quarantined', async () => {
    const lie = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob.writeUInt32LE(2 ** 31, HEADER.entryCount);
      return resealHeader(blob);
    };
    expect(await refused(lie, /DeltaMalformed/)).toMatch(/cannot hold 2147483648 entries/);
  });

  it('payload length 9223372036854775808 (2^63): refused as above 2^53 - 1, quarantined', async () => {
    const lie = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob.writeBigUInt64LE(2n ** 63n, HEADER.payloadLength);
      return resealHeader(blob);
    };
    expect(await refused(lie, /DeltaMalformed/)).toMatch(
      /payloadLength 9223372036854775808 is above 2\^53 - 1/,
    );
  });

  it('self-consistent huge claim (2^32 - 1 entries, 2^45 bytes): refused as truncated', async () => {
    const lie = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob.writeUInt32LE(2 ** 32 - 1, HEADER.entryCount);
      blob.writeBigUInt64LE(2n ** 45n, HEADER.payloadLength);
      return resealHeader(blob);
    };
    expect(await refused(lie, /DeltaTruncated/)).toMatch(/header declares 35184372088/);
  });

  it('zero range of 1 GiB on a 64 KiB disk: quarantined, nothing cleared', async () => {
    const trim = (vm: string): Buffer =>
      encodeDelta(delta(`${RG}/${vm}`, 1, [{ disk: 1, offset: 0, zeroLength: 1024 * MiB }]));
    expect(await refused(trim, /DeltaMalformed/)).toMatch(/past the end of disk data/);
  });

  it('truncated delta (cuts of a real one) and an empty blob: quarantined', async () => {
    for (const keep of [0, 7, 15, 40, 300, goodBlob('x').length - 1]) {
      await refused((vm) => goodBlob(vm).subarray(0, keep), /DeltaTruncated/);
    }
  });

  it('garbage bytes and a flipped bit: quarantined', async () => {
    await refused(() => Buffer.from('{"this is":"not a delta"}'), /DeltaBadMagic/);
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    await refused(() => random, /DeltaBadMagic/);
    const flip = (vm: string): Buffer => {
      const blob = goodBlob(vm);
      blob[blob.length - 100]! ^= 0x04;
      return blob;
    };
    await refused(flip, /DeltaBadChecksum/);
  });

  it('blob over maxDeltaBytes: only its first bytes are read, then it is quarantined', async () => {
    // 3 MiB of a valid-looking head and padding, with the applier taking at most 1 MiB.
    const huge = (vm: string): Buffer => {
      const blob = Buffer.alloc(3 * MiB, 0x5a);
      goodBlob(vm).copy(blob);
      return blob;
    };
    const reason = await refused(huge, /DeltaOversized/, { maxDeltaBytes: MiB, allocBound: 256 * 1024 });
    expect(reason).toMatch(/3145728 bytes, more than the 1048576 accepted/);
    const head = await rig()
      .stores.quarantine.getBlobClient(nameOf(RG, `vm${n}`, 1))
      .downloadToBuffer();
    expect(head.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
  });

  it('hostile blob names from the trigger are ignored: nothing read, written or flagged', async () => {
    await rig().protect(RG, 'named');
    for (const name of [
      `${RG}/named/1/../00000000000000000001.delta`,
      `../${RG}/named/1/00000000000000000001.delta`,
      `${RG}/named/1/00000000000000000001.delta\u0000`,
      `${RG}/..\\named/1/00000000000000000001.delta`,
      `${RG}/named/1/00000000000000000001.delta.txt`,
      `${RG}/named/agent.json`,
      `${'a'.repeat(10_000)}/named/1/00000000000000000001.delta`,
    ]) {
      expect(await rig().applier().onDelta(name), name.slice(0, 60)).toMatchObject({ outcome: 'ignored' });
    }
    expect(await rig().item(RG, 'named')).toMatchObject({ state: 'Protected', watermark: 0 });
    expect(await rig().quarantined(`${RG}/named/`)).toEqual([]);
  });
});

describe('a garbage agent-config blob (a running agent, real Azurite)', () => {
  const azurite = useAzurite();
  let configs: ContainerClient;
  let agent: MobilityAgent;
  let clock: ManualClock;
  const logger = new RecordingLogger();
  const vm = 'cfg-vm';

  async function writeRaw(body: string | Buffer): Promise<void> {
    await configs.getBlockBlobClient(agentConfigBlobName(RG, vm)).uploadData(Buffer.from(body));
  }

  /** Steps the agent's clock until `check` holds. */
  function until<T>(what: string, check: () => T | undefined | false): Promise<T> {
    return waitFor(
      async () => {
        const value = check();
        if (value !== undefined && value !== false) return value;
        await clock.advance(250);
        return undefined;
      },
      { timeoutMs: 20_000, intervalMs: 10, what },
    );
  }

  beforeAll(async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    configs = service.getContainerClient(CONTAINERS.agentConfig);
    await configs.createIfNotExists();
    await service.getContainerClient(CONTAINERS.cache).createIfNotExists();
    await createVmDisk(service.getContainerClient(CONTAINERS.disks), RG, vm, 'os', 0, RIG_DISK_BYTES);
    // Garbage is there before the agent starts: it must start anyway and say why it does not replicate.
    await writeRaw(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b]));
    clock = new ManualClock(Date.now());
    agent = new MobilityAgent({
      resourceGroup: RG,
      vm,
      sourceConnectionString: azurite().connectionString,
      stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-hostile-agent-')),
      clock,
      logger,
      nbd: { host: '127.0.0.1', port: 0 },
      configPollIntervalMs: 500,
      statusIntervalMs: 5000,
      healthCheckIntervalMs: 500,
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
  });

  /** Real credentials for this VM's cache blobs, as enable replication issues them. */
  const cache = () => issueTestCacheCredentials(azurite().connectionString, { resourceGroup: RG, vm });

  it('reports configError for every kind of garbage, keeps serving, and recovers on a valid config', async () => {
    expect(agent.status().configError).toMatch(/not JSON/);
    expect(agent.status().health).toBe('NotReplicating');
    const cases: [string, string | Buffer, RegExp][] = [
      ['empty', '', /not JSON/],
      ['null', 'null', /\(root\)/],
      ['an array', '[1,2,3]', /\(root\)/],
      ['a string', '"config"', /\(root\)/],
      ['deep nesting', '['.repeat(30_000) + ']'.repeat(30_000), /\(root\)/],
      ['NUL bytes', '{"version":1,\u0000}', /not JSON/],
      ['wrong types', '{"version":"2","vmId":7,"generation":"1","cache":true}', /version/],
      [
        'a file: URL and a negative interval',
        JSON.stringify({
          version: 2,
          vmId: `${RG}/${vm}`,
          generation: 1,
          cache: { ...cache(), containerUrl: 'file:///etc/passwd' },
          flushIntervalMs: -5,
        }),
        /cache\.containerUrl[\s\S]*flushIntervalMs|flushIntervalMs[\s\S]*cache\.containerUrl/,
      ],
      [
        'a version 1 config (a SAS for the whole cache)',
        JSON.stringify({
          version: 1,
          vmId: `${RG}/${vm}`,
          generation: 1,
          cacheContainerSasUrl: `${cache().containerUrl}?sv=2026-04-06&sr=c&sp=cw&sig=x`,
        }),
        /config version 1 .*re-run enable replication/,
      ],
      [
        'signatures that are not signatures',
        JSON.stringify({
          version: 2,
          vmId: `${RG}/${vm}`,
          generation: 1,
          cache: {
            ...cache(),
            deltaSas: { ...cache().deltaSas, signatures: ['<script>', 'x'.repeat(5000)] },
          },
        }),
        /cache\.deltaSas\.signatures\.0: must be a base64 HMAC-SHA256 signature/,
      ],
      [
        'another VM',
        JSON.stringify({ version: 2, vmId: `${RG}/other`, generation: 1, cache: cache() }),
        /vmId is hostile-rg\/other, not this VM/,
      ],
      [
        'a traversal vmId',
        JSON.stringify({ version: 2, vmId: '../etc', generation: 1, cache: cache() }),
        /vmId/,
      ],
      [
        'a 1 MiB vmId',
        JSON.stringify({
          version: 2,
          vmId: `${RG}/${'v'.repeat(MiB)}`,
          generation: 1,
          cache: cache(),
        }),
        /bytes, more than 65536/,
      ],
      ['2 MiB of whitespace', ' '.repeat(2 * MiB) + '{}', new RegExp(`more than ${MAX_CONFIG_BYTES}`)],
      [
        'prototype pollution',
        `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"version":2,"vmId":"${RG}/${vm}","generation":0,"cache":"x"}`,
        /generation/,
      ],
    ];
    for (const [i, [what, body, problem]] of cases.entries()) {
      // A config with an error of its own first, so each case is seen to replace it.
      const marker = `${RG}/marker${i}`;
      await writeRaw(JSON.stringify({ version: 2, vmId: marker, generation: 1, cache: cache() }));
      await until(`marker ${i}`, () => agent.status().configError?.includes(marker));
      await writeRaw(body);
      const error = await until(what, () => {
        const e = agent.status().configError;
        return e !== undefined && !e.includes(marker) && problem.test(e) && e;
      });
      expect(error.length, what).toBeLessThan(2_000);
      expect(agent.status().health, what).toBe('NotReplicating');
      expect(agent.status().nbd.port, what).toBeGreaterThan(0);
      expect(({} as Record<string, unknown>).polluted, what).toBeUndefined();
    }
    expect(
      logger.records.filter((r) => r.msg === 'Replication config rejected; keeping the current state').length,
    ).toBeGreaterThanOrEqual(cases.length);

    // A valid config replaces the garbage: the agent replicates, the error is gone.
    await writeAgentConfig(configs, testAgentConfig(azurite().connectionString, { resourceGroup: RG, vm }));
    await until(
      'replication on',
      () => agent.status().generation === 1 && agent.status().configError === undefined,
    );
    expect(agent.status().health).not.toBe('Stopped');
  }, 120_000);
});
