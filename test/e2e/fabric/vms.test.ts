/**
 * The fabric API end to end: tidemark's compiled app in the local host against two Azurites, with
 * function keys, problem+json errors, and the local VM runner serving a VM's disks over NBD to the
 * real qemu-io. Build first (`npx tsc -p tsconfig.build.json`; npm test does it).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startVmRunners, type VmRunners } from '../../../local/vmRunners';
import { loadConfig } from '../../../shared/config';
import { fabricServices } from '../../../shared/fabric/services';
import { RecordingLogger } from '../../../shared/logger';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { startTidemarkStack, type TidemarkStack } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown> & { vms?: Record<string, unknown>[] };
}

const WEB1 = {
  region: 'eastus',
  vnet: 'shop-vnet',
  subnet: 'front',
  size: 'Standard_B1s',
  availabilitySet: 'shop-avset',
  disks: [
    { name: 'os', sizeGiB: 0.0625 },
    { name: 'data', sizeGiB: 0.03125 },
  ],
};

describe('fabric API through the local host', () => {
  let stack: TidemarkStack;

  beforeAll(async () => {
    stack = await startTidemarkStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function api(
    method: string,
    route: string,
    body?: unknown,
    key: string | null = stack.host.keys.functionKey,
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (key !== null) headers['x-functions-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: text ? JSON.parse(text) : {},
    };
  }

  /** What a refused request must not have changed: the VMs and the disk blobs. */
  async function snapshot(): Promise<string> {
    const vms = await api('GET', 'vms');
    const disks = BlobServiceClient.fromConnectionString(stack.source.connectionString).getContainerClient(
      CONTAINERS.disks,
    );
    const blobs: string[] = [];
    if (await disks.exists())
      for await (const b of disks.listBlobsFlat()) blobs.push(`${b.name}:${b.properties.contentLength}`);
    return JSON.stringify({ vms: vms.body, blobs });
  }

  it('needs a function key', async () => {
    expect((await api('GET', 'vms', undefined, null)).status).toBe(401);
    expect((await api('GET', 'vms/shop-rg/web1', undefined, 'wrong-key')).status).toBe(401);
    expect((await api('PUT', 'vms/shop-rg/web1', WEB1, null)).status).toBe(401);
    expect((await api('GET', 'vms')).body).toEqual({ vms: [] });
  });

  it('creates a VM with two disks; GET shows its NIC and disks', async () => {
    const created = await api('PUT', 'vms/shop-rg/web1', WEB1);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const got = await api('GET', 'vms/shop-rg/web1');
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    expect(got.body).toMatchObject({
      resourceGroup: 'shop-rg',
      name: 'web1',
      region: 'eastus',
      size: 'Standard_B1s',
      powerState: 'Running',
      availabilitySet: 'shop-avset',
      nics: [
        {
          name: 'web1-nic',
          privateIp: '10.0.0.4',
          vnet: 'shop-vnet',
          subnet: 'front',
          addressPrefix: '10.0.0.0/24',
        },
      ],
      disks: [
        { name: 'os', lun: 0, sizeBytes: 64 * MiB, sizeGiB: 0.0625 },
        { name: 'data', lun: 1, sizeBytes: 32 * MiB, sizeGiB: 0.03125 },
      ],
      nbd: null,
      protectedItem: null,
    });
    const again = await api('PUT', 'vms/shop-rg/web1', WEB1);
    expect(again.status).toBe(200);
    const list = await api('GET', 'vms?region=eastus');
    expect(list.body.vms).toEqual([
      {
        resourceGroup: 'shop-rg',
        name: 'web1',
        region: 'eastus',
        size: 'Standard_B1s',
        powerState: 'Running',
        disks: 2,
        nbd: null,
        protection: null,
      },
    ]);
    expect((await api('GET', 'vms?region=westus')).body).toEqual({ vms: [] });
  });

  it('refuses bad requests with 400 problem+json and changes nothing', async () => {
    const before = await snapshot();
    const cases: [string, unknown, RegExp][] = [
      ['vms/shop-rg/web9', '{"region": ', /not JSON/],
      ['vms/shop-rg/web9', '', /body is empty/],
      ['vms/shop-rg/web9', { ...WEB1, disks: [] }, /disks: a VM needs at least its OS disk/],
      [
        'vms/shop-rg/web9',
        { ...WEB1, disks: [{ name: 'os', sizeGiB: 0.1 }] },
        /disks\[0\]\.sizeGiB: sizeGiB 0\.1 is not a whole number of 512-byte sectors/,
      ],
      [
        'vms/shop-rg/web9',
        { ...WEB1, vnet: '-vnet' },
        /vnet: Virtual network name "-vnet" is not valid: it starts with "-"/,
      ],
      ['vms/shop-rg/web9', { ...WEB1, size: 'huge' }, /VM size "huge" is not valid/],
      ['vms/shop-rg/web9', { ...WEB1, powerState: 'Paused' }, /powerState/],
      ['vms/shop-rg/web9', { ...WEB1, color: 'blue' }, /color/],
      ['vms/shop-rg/web9-', WEB1, /VM name "web9-" is not valid: it ends with "-"/],
      ['vms/shop-rg./web9', WEB1, /Resource group name "shop-rg." is not valid/],
    ];
    for (const [route, body, detail] of cases) {
      const res = await api('PUT', route, body);
      expect(res.status, `${route} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 400, type: expect.stringMatching(/^urn:tidemark:error:/) });
      expect(['InvalidRequest', 'InvalidArgument']).toContain(res.body.code);
      expect(res.body.detail).toMatch(detail);
    }
    const fields = await api('PUT', 'vms/shop-rg/web9', {
      ...WEB1,
      vnet: 'x',
      subnet: 'y-',
      disks: [{ name: 'os' }],
    });
    expect((fields.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'disks[0].sizeGiB',
      'subnet',
      'vnet',
    ]);
    expect(await snapshot()).toBe(before);
  });

  it('answers an unknown region with 400 naming the known ones', async () => {
    const before = await snapshot();
    const res = await api('PUT', 'vms/mars-rg/rover1', { ...WEB1, region: 'marsnorth' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'InvalidArgument',
      title: 'Invalid argument',
      detail: 'Unknown region "marsnorth"; the known regions are eastus, westus.',
      details: { knownRegions: ['eastus', 'westus'] },
    });
    expect((await api('GET', 'vms?region=marsnorth')).status).toBe(400);
    expect(await snapshot()).toBe(before);
  });

  it('answers 404 for a VM that does not exist and 409 for a change it cannot make', async () => {
    const missing = await api('GET', 'vms/shop-rg/nope');
    expect(missing).toMatchObject({
      status: 404,
      body: { code: 'NotFound', detail: 'VM shop-rg/nope does not exist in any region.' },
    });
    expect(missing.contentType).toContain('application/problem+json');
    const resize = await api('PUT', 'vms/shop-rg/web1', {
      ...WEB1,
      disks: [{ name: 'os', sizeGiB: 1 }, WEB1.disks[1]],
    });
    expect(resize.status).toBe(409);
    expect(resize.body.detail).toMatch(/resizing a disk \(to 1024 MiB\) is not supported/);
  });

  describe.skipIf(tools.skip)(`with the local VM runner${tools.note}`, () => {
    let runners: VmRunners;

    beforeAll(async () => {
      tools.assertAvailable();
      const services = fabricServices(
        loadConfig({
          TIDEMARK_SOURCE_REGION: 'eastus',
          TIDEMARK_TARGET_REGION: 'westus',
          TIDEMARK_SOURCE_STORAGE: stack.source.connectionString,
          TIDEMARK_TARGET_STORAGE: stack.target.connectionString,
        }),
      );
      runners = await startVmRunners(services, {
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-runner-')),
        logger: new RecordingLogger(),
        pollIntervalMs: 100,
      });
    });

    afterAll(async () => {
      await runners?.stop();
    });

    it('serves a running VM’s disks over NBD, and stops serving when the VM stops', async () => {
      const nbd = await waitFor(
        async () =>
          ((await api('GET', 'vms/shop-rg/web1')).body.nbd as {
            port: number;
            exports: string[];
            uris: Record<string, string>;
          } | null) ?? undefined,
        { what: 'the NBD endpoint of shop-rg/web1' },
      );
      expect(nbd).toMatchObject({ host: '127.0.0.1', exports: ['os', 'data'] });
      expect(nbd.uris.data).toBe(`nbd://127.0.0.1:${nbd.port}/data`);

      const write = await qemuIo(nbd.port, 'data', ['write -P 0xab 0 64k', 'write -P 0xcd 1M 4k']);
      expect(write.code, write.stderr).toBe(0);
      const read = await qemuIo(nbd.port, 'data', [
        'read -P 0xab 0 64k',
        'read -P 0xcd 1M 4k',
        'read -P 0 64k 4k',
      ]);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).not.toMatch(/Pattern verification failed/);
      // The writes are in the VM's disk blob in the source storage.
      const blob = BlobServiceClient.fromConnectionString(stack.source.connectionString)
        .getContainerClient(CONTAINERS.disks)
        .getBlobClient('shop-rg/web1/data');
      expect((await blob.downloadToBuffer(0, 4096)).every((b) => b === 0xab)).toBe(true);

      const stopped = await api('PUT', 'vms/shop-rg/web1', { ...WEB1, powerState: 'Stopped' });
      expect(stopped).toMatchObject({ status: 200, body: { powerState: 'Stopped', nbd: null } });
      await waitFor(() => runners.runners.every((r) => r.running().length === 0), {
        what: 'the agent to stop',
      });
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const socket = net.connect(nbd.port, '127.0.0.1');
            socket.once('connect', () => {
              socket.destroy();
              resolve(false);
            });
            socket.once('error', () => resolve(true));
          }),
        { what: 'the NBD port to close' },
      );

      const running = await api('PUT', 'vms/shop-rg/web1', { ...WEB1, powerState: 'Running' });
      expect(running.status).toBe(200);
      const again = await waitFor(
        async () => ((await api('GET', 'vms/shop-rg/web1')).body.nbd as { port: number } | null) ?? undefined,
        { what: 'the NBD endpoint after restart' },
      );
      const reread = await qemuIo(again.port, 'data', ['read -P 0xab 0 64k']);
      expect(reread.code, reread.stderr).toBe(0);
      expect(reread.stdout).not.toMatch(/Pattern verification failed/);
    });
  });
});
