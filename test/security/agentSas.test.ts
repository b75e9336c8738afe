/**
 * The agent's cache credentials exactly as enable replication hands them out (the writeConfig
 * activity writes them into the agent config; shared/cacheSas.ts signs them), against real Azurite,
 * which enforces blob SAS as Azure does: the agent can create its own next deltas (one create-only
 * blob SAS per sequence number of a window) and write its status (one blob SAS), and nothing else:
 * it cannot read, list, delete or overwrite, nor create any blob under another VM's prefix, in
 * another generation, past its window, or outside the cache container.
 *
 * The second half is defense in depth: a delta that reaches another VM's names by some other way
 * than that VM's agent (a leaked account key, a bug) is still never applied to that VM unless it is
 * a well-formed delta of that VM; the applier checks every delta's VM id, generation and sequence.
 */
import { BlobServiceClient, BlockBlobClient, ContainerClient, RestError } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';

import { BlobDeltaSink } from '../../agent/deltaSink';
import { writeConfig } from '../../orchestrations/enable/agent.activities';
import {
  type AgentCacheCredentials,
  agentConfigBlobName,
  agentStatusBlobName,
  parseAgentConfig,
} from '../../shared/agentConfig';
import { deltaSasQuery, issueAgentCacheCredentials, sasExpiresAt } from '../../shared/cacheSas';
import { deltaBlobMetadata, encodeDelta } from '../../shared/delta';
import { CONTAINERS } from '../../shared/storageNames';
import { delta, nameOf, RIG_DISK_BYTES, useApplierRig } from './applierRig';

const RG = 'sas-rg';
const WINDOW = 512;

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

const once = { retryOptions: { maxTries: 1 } };

describe("the agent's cache credentials", () => {
  const rig = useApplierRig();
  let owner: BlobServiceClient;
  /** vm-a's credentials, as its config holds them. */
  let cache: AgentCacheCredentials;

  /** A blob of `container` (the cache unless given) as a holder of `sas` reaches it. */
  function blob(name: string, sas: string, container: string = CONTAINERS.cache): BlockBlobClient {
    const base = cache.containerUrl.replace(/[^/]+$/, container);
    return new BlockBlobClient(`${base}/${name}?${sas}`, undefined, once);
  }

  /** vm-a's SAS for its delta `sequence` of generation 1 (the window has it). */
  function sasOf(sequence: number): string {
    const sas = deltaSasQuery(cache.deltaSas, 1, sequence);
    if (!sas) throw new Error(`no SAS for ${sequence}`);
    return sas;
  }

  /** Every SAS vm-a holds that could be tried on a name: its status SAS and some delta ones. */
  function everySas(): string[] {
    return [cache.statusSas, sasOf(1), sasOf(2), sasOf(WINDOW)];
  }

  async function configOf(vm: string): Promise<AgentCacheCredentials> {
    const text = await owner
      .getContainerClient(CONTAINERS.agentConfig)
      .getBlobClient(agentConfigBlobName(RG, vm))
      .downloadToBuffer();
    const parsed = parseAgentConfig(JSON.parse(text.toString('utf8')));
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.config.cache;
  }

  beforeAll(async () => {
    // The settings the function app runs with: enableServices reads them.
    Object.assign(process.env, {
      TIDEMARK_SOURCE_REGION: 'eastus',
      TIDEMARK_TARGET_REGION: 'westus',
      TIDEMARK_SOURCE_STORAGE: rig().source.connectionString,
      TIDEMARK_TARGET_STORAGE: rig().target.connectionString,
      AzureWebJobsStorage: rig().target.connectionString,
    });
    owner = BlobServiceClient.fromConnectionString(rig().source.connectionString);
    await rig().protect(RG, 'vm-a');
    await rig().protect(RG, 'vm-b');
    await writeConfig({ resourceGroup: RG, vm: 'vm-a', generation: 1 });
    await writeConfig({ resourceGroup: RG, vm: 'vm-b', generation: 1 });
    cache = await configOf('vm-a');
  });

  describe('what they grant', () => {
    it('are blob SAS: cw for its status blob, c for each delta of a window of its generation, for a bounded time', async () => {
      expect(cache.containerUrl).toBe(rig().cache.url);
      const status = new URLSearchParams(cache.statusSas);
      expect(status.get('sr')).toBe('b');
      expect(status.get('sp')).toBe('cw');
      const deltas = new URLSearchParams(cache.deltaSas.query);
      expect(deltas.get('sr')).toBe('b');
      expect(deltas.get('sp')).toBe('c');
      expect(deltas.has('sig')).toBe(false);
      // An http:// account (Azurite) gets http and https; an https one https only (unit-tested).
      expect(deltas.get('spr')).toBe('https,http');
      expect(cache.deltaSas).toMatchObject({ generation: 1, firstSequence: 1 });
      expect(cache.deltaSas.signatures).toHaveLength(WINDOW);
      const lifetimeDays = (sasExpiresAt(cache.deltaSas.query)! - Date.parse(deltas.get('st')!)) / 86_400_000;
      expect(lifetimeDays).toBeGreaterThan(1);
      expect(lifetimeDays).toBeLessThanOrEqual(8);
      // Each VM gets its own signatures.
      const b = await configOf('vm-b');
      expect(b.deltaSas.signatures.some((s) => cache.deltaSas.signatures.includes(s))).toBe(false);
      expect(b.statusSas).not.toBe(cache.statusSas);
    });

    it('create its own next deltas, once, and write its status, through the agent sink', async () => {
      const sink = new BlobDeltaSink(cache);
      const d = delta(`${RG}/vm-a`, 1, []);
      const name = nameOf(RG, 'vm-a', 1);
      expect(await sink.putDelta(name, encodeDelta(d), deltaBlobMetadata(d))).toBe('created');
      expect(await sink.putDelta(name, Buffer.from('other'), deltaBlobMetadata(d))).toBe('exists');
      expect((await rig().cache.getBlobClient(name).downloadToBuffer()).equals(encodeDelta(d))).toBe(true);
      const d2 = delta(`${RG}/vm-a`, 2, []);
      expect(await sink.putDelta(nameOf(RG, 'vm-a', 2), encodeDelta(d2), deltaBlobMetadata(d2))).toBe(
        'created',
      );
      // The last number of the window too.
      const last = nameOf(RG, 'vm-a', WINDOW);
      expect(await outcome(() => blob(last, sasOf(WINDOW)).uploadData(Buffer.from('x')))).toBe('ok');
      await rig().cache.getBlobClient(last).delete();

      const statusName = agentStatusBlobName(RG, 'vm-a');
      await sink.putJson(statusName, { v: 1 });
      await sink.putJson(statusName, { v: 2 });
      const status = await rig().cache.getBlobClient(statusName).downloadToBuffer();
      expect(JSON.parse(status.toString('utf8'))).toEqual({ v: 2 });
    });

    it('cannot overwrite a delta, even its own with its own SAS', async () => {
      const name = nameOf(RG, 'vm-a', 1);
      const before = await rig().cache.getBlobClient(name).downloadToBuffer();
      expect(await outcome(() => blob(name, sasOf(1)).uploadData(Buffer.from('replaced')))).toBe(403);
      expect(await outcome(() => blob(name, sasOf(1)).setMetadata({ replaced: '1' }))).toBe(403);
      expect((await rig().cache.getBlobClient(name).downloadToBuffer()).equals(before)).toBe(true);
    });

    it('cannot read, list, get properties or tags, or delete', async () => {
      const name = nameOf(RG, 'vm-a', 1);
      const statusName = agentStatusBlobName(RG, 'vm-a');
      for (const [target, sas] of [
        [name, sasOf(1)],
        [statusName, cache.statusSas],
      ] as const) {
        const b = blob(target, sas);
        expect(await outcome(() => b.downloadToBuffer()), target).toBe(403);
        expect(await outcome(() => b.getProperties()), target).toBe(403);
        expect(await outcome(() => b.getTags()), target).toBe(403);
        expect(await outcome(() => b.delete()), target).toBe(403);
        expect(await outcome(() => b.deleteIfExists()), target).toBe(403);
        expect(await rig().cache.getBlobClient(target).exists(), target).toBe(true);
      }
      for (const sas of everySas()) {
        const view = new ContainerClient(`${cache.containerUrl}?${sas}`, undefined, once);
        expect(await outcome(() => view.listBlobsFlat().next())).toBe(403);
        expect(await outcome(() => view.listBlobsByHierarchy('/').next())).toBe(403);
        expect(await outcome(() => view.getProperties())).toBe(403);
        expect(await outcome(() => view.delete())).toBe(403);
      }
    });

    it("cannot create any blob under another VM's prefix, another generation, or past its window", async () => {
      const forbidden = [
        // vm-b's own next delta and status: the names its agent may create.
        nameOf(RG, 'vm-b', 1),
        nameOf(RG, 'vm-b', 2),
        nameOf(RG, 'vm-b', WINDOW),
        agentStatusBlobName(RG, 'vm-b'),
        // Another resource group's VM of the same name.
        nameOf('other-rg', 'vm-a', 3),
        // Its own VM, but another generation, a number outside the window, or not a delta.
        nameOf(RG, 'vm-a', 3, 2),
        nameOf(RG, 'vm-a', 3, 0),
        nameOf(RG, 'vm-a', WINDOW + 1),
        nameOf(RG, 'vm-a', 0),
        `${RG}/vm-a/3.delta`,
        `${RG}/vm-a/other.json`,
        `${RG}/vm-a`,
        `${RG}/vm-a.json`,
        'evil.delta',
      ];
      for (const name of forbidden) {
        for (const sas of everySas()) {
          expect(await outcome(() => blob(name, sas).uploadData(Buffer.from('x'))), name).toBe(403);
        }
        expect(await rig().cache.getBlobClient(name).exists(), name).toBe(false);
      }
      // A delta SAS does not write the status blob, nor the status SAS a delta.
      expect(
        await outcome(() => blob(agentStatusBlobName(RG, 'vm-a'), sasOf(3)).uploadData(Buffer.from('x'))),
      ).toBe(403);
      expect(
        await outcome(() => blob(nameOf(RG, 'vm-a', 3), cache.statusSas).uploadData(Buffer.from('x'))),
      ).toBe(403);
      expect(
        await rig()
          .cache.getBlobClient(nameOf(RG, 'vm-a', 3))
          .exists(),
      ).toBe(false);
    });

    it('cannot touch any other container, nor the account', async () => {
      for (const container of [CONTAINERS.agentConfig, CONTAINERS.disks, 'other-container']) {
        await owner.getContainerClient(container).createIfNotExists();
        // The same names its SAS are signed for, in another container.
        for (const [name, sas] of [
          [nameOf(RG, 'vm-a', 3), sasOf(3)],
          [agentStatusBlobName(RG, 'vm-a'), cache.statusSas],
          [agentConfigBlobName(RG, 'vm-a'), cache.statusSas],
        ] as const) {
          expect(
            await outcome(() => blob(name, sas, container).uploadData(Buffer.from('x'))),
            container,
          ).toBe(403);
          expect(await outcome(() => blob(name, sas, container).downloadToBuffer()), container).toBe(403);
        }
        const view = new ContainerClient(
          `${cache.containerUrl.replace(/[^/]+$/, container)}?${cache.statusSas}`,
          undefined,
          once,
        );
        expect(await outcome(() => view.listBlobsFlat().next())).toBe(403);
      }
      // The agent config (which holds the credentials of every VM) stays out of reach.
      const account = cache.containerUrl.replace(/\/[^/]+$/, '');
      for (const sas of everySas()) {
        const service = new BlobServiceClient(`${account}?${sas}`, undefined, once);
        expect(await outcome(() => service.listContainers().next())).toBe(403);
        expect(await outcome(() => service.createContainer('made-by-agent'))).toBe(403);
      }
    });

    it('cannot be edited: the signature covers the permissions, the resource kind and the expiry', async () => {
      const name = nameOf(RG, 'vm-a', 4);
      const sas = sasOf(4);
      const later = new Date(Date.now() + 400 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
      for (const edited of [
        sas.replace('sp=c', 'sp=racwdl'),
        sas.replace('sp=c', 'sp=cw'),
        sas.replace('sr=b', 'sr=c'),
        sas.replace(/se=[^&]+/, `se=${encodeURIComponent(later)}`),
        `${cache.deltaSas.query}&sig=${encodeURIComponent(cache.deltaSas.signatures[4]!)}`, // 5's sig
      ]) {
        expect(edited).not.toBe(sas);
        expect(await outcome(() => blob(name, edited).uploadData(Buffer.from('x'))), edited).toBe(403);
        const view = new ContainerClient(`${cache.containerUrl}?${edited}`, undefined, once);
        expect(await outcome(() => view.listBlobsFlat().next())).toBe(403);
      }
      expect(await rig().cache.getBlobClient(name).exists()).toBe(false);
      expect(await outcome(() => blob(name, sas).uploadData(Buffer.from('x')))).toBe('ok');
    });

    it('stop working when they expire', async () => {
      const expired = issueAgentCacheCredentials(rig().source.connectionString, {
        resourceGroup: RG,
        vm: 'vm-a',
        generation: 1,
        firstSequence: 1,
        window: 16,
        startsOn: new Date(Date.now() - 2 * 3_600_000),
        expiresOn: new Date(Date.now() - 3_600_000),
      });
      const sink = new BlobDeltaSink(expired);
      await expect(sink.putDelta(nameOf(RG, 'vm-a', 9), Buffer.from('x'), {})).rejects.toMatchObject({
        code: 'Unauthorized',
        reason: 'refused',
      });
      await expect(sink.putJson(agentStatusBlobName(RG, 'vm-a'), {})).rejects.toMatchObject({
        statusCode: 403,
      });
      expect(
        await rig()
          .cache.getBlobClient(nameOf(RG, 'vm-a', 9))
          .exists(),
      ).toBe(false);
    });
  });

  describe("defense in depth: a delta under another VM's name that its agent did not write is never applied to it", () => {
    const b = 'vm-b';

    /**
     * Writes as someone other than B's agent would have to: with the account key (a leak, a bug).
     * vm-a's credentials can't create these names (above); the applier does not rely on that.
     */
    async function writesUnderB(name: string, body: Buffer): Promise<void> {
      await rig().cache.getBlockBlobClient(name).uploadData(body);
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
      const aBefore = await rig().item(RG, 'vm-a');
      await writesUnderB(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/vm-a`, 1, [write(0)])));
      const result = await rig()
        .applier()
        .onDelta(nameOf(RG, b, 1));
      expect(result).toMatchObject({ outcome: 'quarantined', sequence: 1 });
      await expectBQuarantined(1, /is for VM sas-rg\/vm-a, expected sas-rg\/vm-b/);
      expect((await rig().item(RG, 'vm-a')).state).toBe(aBefore.state);
      expect(await rig().replicas(RG, 'vm-a')).toEqual(rig().initial());
    });

    it("a delta claiming B's id under A's own name (which A's agent can create): quarantined for A, B never touched", async () => {
      await resetB();
      // A's deltas 1 and 2 are heartbeats of its own (created above); this is its 3, made with its own SAS.
      await rig().applier().drain(RG, 'vm-a');
      expect((await rig().item(RG, 'vm-a')).watermark).toBe(2);
      const name = nameOf(RG, 'vm-a', 3);
      expect(
        await outcome(() =>
          blob(name, sasOf(3)).uploadData(encodeDelta(delta(`${RG}/${b}`, 3, [write(512)]))),
        ),
      ).toBe('ok');
      const result = await rig().applier().onDelta(name);
      expect(result).toMatchObject({ outcome: 'quarantined', sequence: 3 });
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
      await writesUnderB(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 2)));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /DeltaBadGeneration/);
    });

    it("B's id with another sequence in the header than in the name: quarantined", async () => {
      await resetB();
      await writesUnderB(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 5, [write(0)])));
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
      await writesUnderB(future, encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 7)));
      expect(await rig().applier().onDelta(future)).toMatchObject({ outcome: 'notReady' });
      expect(await rig().cacheNames(future)).toEqual([future]);
      const item = await rig().item(RG, b);
      await rig().stores.items.update(item, { generation: 2 });
      const old = nameOf(RG, b, 1, 1);
      await writesUnderB(old, encodeDelta(delta(`${RG}/${b}`, 1, [write(0)], 1)));
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
        await writesUnderB(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/${b}`, 1, [entry])));
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

    it("garbage under B's name, or B's pending delta overwritten: quarantined", async () => {
      await resetB();
      await writesUnderB(nameOf(RG, b, 1), Buffer.from('this is not a delta at all'));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /DeltaBadMagic/);

      await resetB();
      // B's own agent uploads delta 1; before it is applied, it is overwritten with A's bytes.
      const good = delta(`${RG}/${b}`, 1, [write(0)]);
      await rig()
        .cache.getBlockBlobClient(nameOf(RG, b, 1))
        .uploadData(encodeDelta(good));
      await writesUnderB(nameOf(RG, b, 1), encodeDelta(delta(`${RG}/vm-a`, 1, [write(0)])));
      expect(
        await rig()
          .applier()
          .onDelta(nameOf(RG, b, 1)),
      ).toMatchObject({ outcome: 'quarantined' });
      await expectBQuarantined(1, /is for VM sas-rg\/vm-a/);
    });

    it("a well-formed delta of B's own id, generation and next sequence would be applied: only B's credentials create it", async () => {
      // Nothing in a delta proves which agent wrote it, so what keeps A from writing B's next delta is
      // the credentials: A's can't create that name (tested above, and here), B's can.
      await resetB();
      const name = nameOf(RG, b, 1);
      const body = encodeDelta(delta(`${RG}/${b}`, 1, [write(0)]));
      for (const sas of everySas()) expect(await outcome(() => blob(name, sas).uploadData(body))).toBe(403);
      expect(await rig().cacheNames(name)).toEqual([]);
      const bCache = await configOf(b);
      expect(await new BlobDeltaSink(bCache).putDelta(name, body, {})).toBe('created');
      expect(await rig().applier().onDelta(name)).toMatchObject({ outcome: 'applied' });
      const [os] = await rig().replicas(RG, b);
      expect(os!.subarray(0, 512).equals(Buffer.alloc(512, 0xee))).toBe(true);
    });
  });
});
