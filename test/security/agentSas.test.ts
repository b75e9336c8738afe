/**
 * The agent's cache credential, exactly as enable replication hands it out (the writeConfig activity
 * writes it into the agent config; shared/cacheSas.ts signs it), against real Azurite: what it can
 * and cannot do. A SAS cannot be scoped to a blob-name prefix in a flat-namespace container, so one
 * VM's agent can write under another VM's prefix; the rest of the file shows, through the real
 * applier, that such a delta is never applied to the other VM unless it is a well-formed delta of
 * that VM (the residual risk the README's Security section states).
 */
import {
  BlobSASPermissions,
  BlobServiceClient,
  ContainerClient,
  generateBlobSASQueryParameters,
  RestError,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';

import { BlobDeltaSink } from '../../agent/deltaSink';
import { writeConfig } from '../../orchestrations/enable/agent.activities';
import { agentConfigBlobName, parseAgentConfig } from '../../shared/agentConfig';
import { agentCacheSasUrl } from '../../shared/cacheSas';
import { deltaBlobMetadata, encodeDelta } from '../../shared/delta';
import { CONTAINERS } from '../../shared/storageNames';
import { delta, nameOf, RIG_DISK_BYTES, useApplierRig } from './applierRig';

const RG = 'sas-rg';

/** The status code a storage call fails with, or 'ok'. */
async function outcome(op: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await op();
    return 'ok';
  } catch (err) {
    if (err instanceof RestError) return err.statusCode ?? -1;
    throw err;
  }
}

describe("the agent's cache SAS", () => {
  const rig = useApplierRig();
  let sasUrl: string;
  let owner: BlobServiceClient;
  /** The cache as the agent of sas-rg/vm-a sees it: through its SAS only. */
  let agentView: ContainerClient;

  beforeAll(async () => {
    // The settings the function app runs with: enableServices reads them.
    Object.assign(process.env, {
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_TARGET_REGION: 'westus',
      TIDEMARK_SOURCE_STORAGE: rig().source.connectionString,
      TIDEMARK_TARGET_STORAGE: rig().target.connectionString,
      AzureWebJobsStorage: rig().target.connectionString,
    });
    await writeConfig({ resourceGroup: RG, vm: 'vm-a', generation: 1 });
    owner = BlobServiceClient.fromConnectionString(rig().source.connectionString);
    const text = await owner
      .getContainerClient(CONTAINERS.agentConfig)
      .getBlobClient(agentConfigBlobName(RG, 'vm-a'))
      .downloadToBuffer();
    const parsed = parseAgentConfig(JSON.parse(text.toString('utf8')));
    if (!parsed.ok) throw new Error(parsed.problem);
    sasUrl = parsed.config.cacheContainerSasUrl;
    agentView = new ContainerClient(sasUrl, undefined, { retryOptions: { maxTries: 1 } });
    await rig().protect(RG, 'vm-a');
    await rig().protect(RG, 'vm-b');
  });

  describe('what the SAS grants', () => {
    it('is a container SAS for the cache, create and write only, valid for a bounded time', () => {
      const url = new URL(sasUrl);
      expect(url.pathname).toMatch(new RegExp(`/${CONTAINERS.cache}$`));
      const q = url.searchParams;
      expect(q.get('sr')).toBe('c');
      expect(q.get('sp')).toBe('cw');
      expect(q.get('sig')).toBeTruthy();
      const lifetimeDays = (Date.parse(q.get('se')!) - Date.parse(q.get('st')!)) / 86_400_000;
      expect(lifetimeDays).toBeGreaterThan(1);
      expect(lifetimeDays).toBeLessThanOrEqual(31);
      // An http:// account (Azurite) gets http and https; an https one gets https only.
      expect(q.get('spr')).toBe('https,http');
      const https = agentCacheSasUrl(
        'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5a2V5a2V5a2V5;EndpointSuffix=core.windows.net',
        CONTAINERS.cache,
        { startsOn: new Date(0), expiresOn: new Date(86_400_000) },
      );
      expect(new URL(https).searchParams.get('spr')).toBe('https');
    });

    it("creates a delta under its own VM's prefix, once: the agent's sink never overwrites", async () => {
      const sink = BlobDeltaSink.fromSasUrl(sasUrl);
      const d = delta(`${RG}/vm-a`, 1, []);
      const name = nameOf(RG, 'vm-a', 1);
      expect(await sink.putDelta(name, encodeDelta(d), deltaBlobMetadata(d))).toBe('created');
      expect(await sink.putDelta(name, Buffer.from('other'), deltaBlobMetadata(d))).toBe('exists');
      const stored = await rig().cache.getBlobClient(name).downloadToBuffer();
      expect(stored.equals(encodeDelta(d))).toBe(true);
    });

    it('cannot read, list, get properties or tags, or delete', async () => {
      const name = nameOf(RG, 'vm-a', 1);
      const blob = agentView.getBlobClient(name);
      expect(await outcome(() => blob.downloadToBuffer())).toBe(403);
      expect(await outcome(() => blob.getProperties())).toBe(403);
      expect(await outcome(() => blob.getTags())).toBe(403);
      expect(await outcome(() => blob.delete())).toBe(403);
      expect(await outcome(() => blob.deleteIfExists())).toBe(403);
      expect(await outcome(() => agentView.listBlobsFlat().next())).toBe(403);
      expect(await outcome(() => agentView.listBlobsByHierarchy('/').next())).toBe(403);
      expect(await outcome(() => agentView.getProperties())).toBe(403);
      expect(await outcome(() => agentView.delete())).toBe(403);
      expect(await rig().cache.getBlobClient(name).exists()).toBe(true);
    });

    it('cannot touch any other container, nor the account', async () => {
      const query = new URL(sasUrl).search;
      const base = new URL(sasUrl);
      for (const container of [CONTAINERS.agentConfig, CONTAINERS.disks, 'other-container']) {
        await owner.getContainerClient(container).createIfNotExists();
        const other = new ContainerClient(
          `${base.origin}${base.pathname.replace(/[^/]+$/, container)}${query}`,
          undefined,
          { retryOptions: { maxTries: 1 } },
        );
        expect(await outcome(() => other.uploadBlockBlob('x.json', 'x', 1)), container).toBe(403);
        expect(
          await outcome(() => other.getBlobClient(agentConfigBlobName(RG, 'vm-a')).downloadToBuffer()),
        ).toBe(403);
        expect(await outcome(() => other.listBlobsFlat().next())).toBe(403);
      }
      // The agent config (which holds the SAS of every VM) stays out of reach.
      const service = new BlobServiceClient(`${base.origin}${base.pathname.replace(/\/[^/]+$/, '')}${query}`);
      expect(await outcome(() => service.listContainers().next())).toBe(403);
      expect(await outcome(() => service.createContainer('made-by-agent'))).toBe(403);
    });

    it('stops working when it expires', async () => {
      const expired = agentCacheSasUrl(rig().source.connectionString, CONTAINERS.cache, {
        startsOn: new Date(Date.now() - 2 * 3_600_000),
        expiresOn: new Date(Date.now() - 3_600_000),
      });
      const sink = BlobDeltaSink.fromSasUrl(expired);
      await expect(sink.putDelta(nameOf(RG, 'vm-a', 99), Buffer.from('x'), {})).rejects.toMatchObject({
        statusCode: 403,
      });
    });

    it('can overwrite with the raw SAS (w, which the status blob needs), as Azure allows: the sink never does', async () => {
      const name = `${RG}/vm-a/agent.json`;
      expect(await outcome(() => agentView.uploadBlockBlob(name, '{"v":1}', 7))).toBe('ok');
      expect(await outcome(() => agentView.uploadBlockBlob(name, '{"v":2}', 7))).toBe('ok');
      // The signature covers sp: a holder can neither widen nor narrow what it grants.
      for (const edited of [sasUrl.replace('sp=cw', 'sp=rcwdl'), sasUrl.replace('sp=cw', 'sp=c')]) {
        const view = new ContainerClient(edited, undefined, { retryOptions: { maxTries: 1 } });
        expect(await outcome(() => view.uploadBlockBlob(`${RG}/vm-a/edited`, 'x', 1))).toBe(403);
        expect(await outcome(() => view.listBlobsFlat().next())).toBe(403);
      }
      // Azurite enforces create-only as Azure does (README: what dropping w would take).
      const service = BlobServiceClient.fromConnectionString(rig().source.connectionString);
      const credential = service.credential as StorageSharedKeyCredential;
      const createOnly = new ContainerClient(
        `${rig().cache.url}?${generateBlobSASQueryParameters(
          {
            containerName: CONTAINERS.cache,
            permissions: BlobSASPermissions.parse('c'),
            startsOn: new Date(Date.now() - 60_000),
            expiresOn: new Date(Date.now() + 3_600_000),
          },
          credential,
        ).toString()}`,
        undefined,
        { retryOptions: { maxTries: 1 } },
      );
      expect(await outcome(() => createOnly.uploadBlockBlob(`${RG}/vm-a/fresh`, 'x', 1))).toBe('ok');
      expect(await outcome(() => createOnly.uploadBlockBlob(`${RG}/vm-a/fresh`, 'y', 1))).toBe(403);
      expect(await outcome(() => createOnly.uploadBlockBlob(name, '{}', 2))).toBe(403);
    });
  });

  describe("a delta written under another VM's prefix is never applied to that VM", () => {
    const b = 'vm-b';

    async function agentWrites(name: string, body: Buffer): Promise<void> {
      // Raw SAS writes, as a rogue agent would make them (no If-None-Match).
      await agentView.getBlockBlobClient(name).uploadData(body);
    }

    async function expectBQuarantined(sequence: number, reason: RegExp): Promise<void> {
      const item = await rig().item(RG, b);
      expect(item.state).toBe('ResyncRequired');
      expect(item.applyEnabled).toBe(false);
      expect(item.health).toBe('Critical');
      expect(item.resyncReason).toMatch(reason);
      expect(item.watermark).toBe(sequence - 1);
      expect(await rig().replicas(RG, b)).toEqual(rig().initial());
      expect(await rig().quarantined(`${RG}/${b}/`)).toContain(nameOf(RG, b, sequence));
      expect(await rig().cacheNames(nameOf(RG, b, sequence))).toEqual([]);
    }

    async function resetB(): Promise<void> {
      const item = await rig().item(RG, b);
      await rig().stores.items.update(item, {
        state: 'Protected',
        applyEnabled: true,
        resyncReason: undefined,
        watermark: 0,
        health: 'Healthy',
      });
    }

    const write = (offset: number): { disk: number; offset: number; data: Buffer } => ({
      disk: 0,
      offset,
      data: Buffer.alloc(512, 0xee),
    });

    it("A's own delta (A in its header) under B's name: quarantined, B flagged, A untouched", async () => {
      await resetB();
      await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/vm-a`, 1, [write(0)])));
      const result = await rig()
        .applier()
        .onDelta(nameOf(RG, b, 1));
      expect(result).toMatchObject({ outcome: 'quarantined', sequence: 1 });
      await expectBQuarantined(1, /is for VM sas-rg\/vm-a, expected sas-rg\/vm-b/);
      expect((await rig().item(RG, 'vm-a')).state).toBe('Protected');
      expect(await rig().replicas(RG, 'vm-a')).toEqual(rig().initial());
    });

    it("a delta claiming B's id under A's own prefix: quarantined for A, B never touched", async () => {
      await resetB();
      // A's first delta (sequence 1) is a heartbeat of its own (created above, or now); this is its 2.
      const first = nameOf(RG, 'vm-a', 1);
      if ((await rig().item(RG, 'vm-a')).watermark === 0) {
        if (!(await rig().cache.getBlobClient(first).exists())) {
          await agentWrites(first, encodeDelta(delta(`${RG}/vm-a`, 1, [])));
        }
        expect(await rig().applier().onDelta(first)).toMatchObject({ outcome: 'applied' });
      }
      await agentWrites(nameOf(RG, 'vm-a', 2), encodeDelta(delta(`${RG}/${b}`, 2, [write(512)])));
      const result = await rig()
        .applier()
        .onDelta(nameOf(RG, 'vm-a', 2));
      expect(result).toMatchObject({ outcome: 'quarantined', sequence: 2 });
      const a = await rig().item(RG, 'vm-a');
      expect(a.state).toBe('ResyncRequired');
      expect(a.resyncReason).toMatch(/is for VM sas-rg\/vm-b/);
      const bItem = await rig().item(RG, b);
      expect(bItem.state).toBe('Protected');
      expect(bItem.watermark).toBe(0);
      expect(await rig().replicas(RG, b)).toEqual(rig().initial());
    });

    it("B's id with another generation in the header than in the name: quarantined", async () => {
      await resetB();
      await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 2)));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /DeltaBadGeneration/);
    });

    it("B's id with another sequence in the header than in the name: quarantined", async () => {
      await resetB();
      await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 5, [write(0)])));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /sequence 5 is not the expected 1/);
    });

    it('a future generation of B waits unapplied; an older one is dropped unapplied', async () => {
      await resetB();
      const future = nameOf(RG, b, 1, 7);
      await agentWrites(future, encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 7)));
      expect(await rig().applier().onDelta(future)).toMatchObject({ outcome: 'notReady' });
      expect(await rig().cacheNames(future)).toEqual([future]);
      const item = await rig().item(RG, b);
      await rig().stores.items.update(item, { generation: 2 });
      const old = nameOf(RG, b, 1, 1);
      await agentWrites(old, encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 1)));
      expect(await rig().applier().onDelta(old)).toMatchObject({
        outcome: 'duplicate',
        reason: 'older generation',
      });
      expect(await rig().cacheNames(old)).toEqual([]);
      expect(await rig().replicas(RG, b)).toEqual(rig().initial());
      await rig().stores.items.update(await rig().item(RG, b), { generation: 1 });
    });

    it("writes outside B's disks (a disk it lacks, past the end): quarantined", async () => {
      for (const entry of [
        { disk: 9, offset: 0, data: Buffer.alloc(512, 1) },
        { disk: 0, offset: RIG_DISK_BYTES, data: Buffer.alloc(512, 1) },
        { disk: 1, offset: RIG_DISK_BYTES - 512, zeroLength: 1024 },
      ]) {
        await resetB();
        await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 1, [entry])));
        expect(
          await rig()
            .applier()
            .onDelta(nameOf(RG, b, 1)),
          JSON.stringify(entry),
        ).toMatchObject({
          outcome: 'quarantined',
        });
        await expectBQuarantined(1, /disk|past|beyond|outside|end/i);
      }
    });

    it("garbage under B's name, or B's pending delta overwritten by A: quarantined", async () => {
      await resetB();
      await agentWrites(nameOf(RG, b, 1), Buffer.from('this is not a delta at all'));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /DeltaBadMagic/);

      await resetB();
      // B's own agent uploads delta 1; before it is applied, A's agent overwrites it with A's bytes.
      const good = delta(`${RG}/${b}`, 1, [write(0)]);
      await rig()
        .cache.getBlockBlobClient(nameOf(RG, b, 1))
        .uploadData(encodeDelta(good));
      await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/vm-a`, 1, [write(0)])));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /is for VM sas-rg\/vm-a/);
    });

    it("residual risk: a well-formed delta of B's own id, generation and next sequence is applied", async () => {
      // Nothing in a delta proves which agent wrote it; the README's Security section says so and
      // what would close it. This pins today's behaviour so a fix shows up here.
      await resetB();
      await agentWrites(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 1, [write(0)])));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'applied' });
      const [os] = await rig().replicas(RG, b);
      expect(os!.subarray(0, 512).equals(Buffer.alloc(512, 0xee))).toBe(true);
    });
  });
});
