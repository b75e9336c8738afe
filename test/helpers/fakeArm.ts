/**
 * A small fake of Azure Resource Manager on 127.0.0.1, for the ARM fabric's tests. It answers in
 * ARM's documented shapes: resources under `/subscriptions/{sub}/resourceGroups/{rg}/providers/…`,
 * lists as `{value, nextLink?}`, errors as `{error: {code, message}}`, writes of network resources and
 * VMs as long-running operations (PUT → 201/200 + `Azure-AsyncOperation`; DELETE → 202 + `Location`;
 * VM actions → 202 + `Azure-AsyncOperation`), `etag`s on VNets, NICs and VMs with `If-Match` (412 when
 * stale) and `If-None-Match: *`, subnet `ipConfigurations` computed from the NICs, a NIC's
 * `virtualMachine` from the VMs, a VM's power state in its instance view, and 400
 * PrivateIPAddressInUse for a static address taken in the subnet. Every request is recorded; faults
 * (429 with Retry-After, 5xx, 409…) can be queued for the next matching requests.
 *
 * Managed disks and snapshots (fakeArm/fakeDisks.ts) keep their bytes as page blobs in Azurite once
 * `useDiskStorage` names a container for their region: Import checks the source is a fixed VHD, Copy
 * and snapshots copy bytes, `beginGetAccess`/`endGetAccess` give and end a SAS URL to them. The
 * managed identity endpoint of App Service (fakeArm/msiEndpoint.ts) issues `token`, which ARM
 * requests must carry when `requireToken` is set.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';

import type { Clock } from '../../shared/clock';
import { ArmClient } from '../../shared/fabric/arm/armClient';
import { ArmFabricStore } from '../../shared/fabric/arm/armFabricStore';
import { clone, type FakeResponse, groupOf, type Json, type RecordedRequest, typeOf } from './fakeArm/common';
import { FakeDisks, isDiskType } from './fakeArm/fakeDisks';
import { MSI_TOKEN_PATH, msiToken } from './fakeArm/msiEndpoint';
import { InstantClock, StaticTokenCredential } from './fakeArm/testDoubles';

export type { FakeResponse, Json, RecordedRequest } from './fakeArm/common';
export { InstantClock, StaticTokenCredential } from './fakeArm/testDoubles';

/** A fault's answer, or a function that may act (seed a competitor…) and answer, or undefined to go on. */
export type FaultResponse = FakeResponse | ((req: RecordedRequest) => FakeResponse | undefined);

interface Fault {
  match: (req: RecordedRequest) => boolean;
  response: FaultResponse;
  times: number;
}

interface Operation {
  /** How many more polls answer InProgress. */
  pending: number;
  status: 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
  done: () => void | Promise<void>;
  finished: boolean;
  /** A POST's result: the body at `Location`, and `properties.output` of the operation status. */
  result?: unknown;
}

/** Types whose writes are long-running here, as in ARM. */
const ASYNC_TYPES = [
  'microsoft.network/',
  'microsoft.compute/virtualmachines',
  'microsoft.compute/disks',
  'microsoft.compute/snapshots',
];
/** Types with an `etag`. */
const ETAG_TYPES = [
  'microsoft.network/virtualnetworks',
  'microsoft.network/networkinterfaces',
  'microsoft.compute/virtualmachines',
];

export class FakeArm {
  readonly requests: RecordedRequest[] = [];
  /** Resources by lower-cased id, as ARM stores them (without computed views). */
  readonly resources = new Map<string, Json>();
  /** VM power states (`running`, `stopped`, `deallocated`) by lower-cased VM id. */
  readonly power = new Map<string, string>();
  /** Polls of an async operation that answer InProgress before it ends. */
  pollsBeforeDone = 0;
  /** Retry-After (seconds) on 201/202 answers of long-running operations; none when undefined. */
  lroRetryAfter: string | undefined = '0';
  /** The token the managed identity endpoint issues (and `requireToken` asks of ARM requests). */
  readonly token = `fake-arm-token-${randomBytes(8).toString('hex')}`;
  /** What the managed identity endpoint wants in `X-IDENTITY-HEADER` (the app's `IDENTITY_HEADER`). */
  readonly identityHeader = randomBytes(16).toString('hex');
  /** The client id the managed identity endpoint answers when the request names none. */
  readonly identityClientId = randomUUID();
  /** When set, an ARM request without `Authorization: Bearer {token}` is answered 401. */
  requireToken = false;
  url = '';
  #server: http.Server;
  #disks = new FakeDisks(this);
  #faults: Fault[] = [];
  #operations = new Map<string, Operation>();
  #next = 1;
  #etag = 1;

  private constructor(readonly subscriptionId: string) {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  static async start(subscriptionId = '6f1c4c2a-3b5d-4e6f-8a9b-0c1d2e3f4a5b'): Promise<FakeArm> {
    const fake = new FakeArm(subscriptionId);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** `/subscriptions/{sub}/resourceGroups/{rg}` + `/providers/{type}/{name}` when given. */
  id(resourceGroup: string, type?: string, name?: string): string {
    const group = `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}`;
    return type ? `${group}/providers/${type}/${name}` : group;
  }

  /** Stores a resource as ARM would have it (id, name, type, etag filled in). */
  seed(id: string, resource: Json): Json {
    const stored = this.#store(id, clone(resource), undefined);
    if (typeOf(id) === 'microsoft.compute/virtualmachines' && !this.power.has(id.toLowerCase())) {
      this.power.set(id.toLowerCase(), 'running');
    }
    return stored;
  }

  /**
   * The bytes of managed disks and snapshots in `region` live as page blobs in `container` (an
   * Azurite container made from a connection string, so it can sign SAS URLs). It stays registered
   * through `clear()`.
   */
  useDiskStorage(region: string, container: ContainerClient): void {
    this.#disks.storage.use(region, container);
  }

  /** Stores a managed disk in `region` whose data is `data` (a whole number of MiB), with its bytes. */
  async seedDisk(
    region: string,
    resourceGroup: string,
    name: string,
    data: Buffer,
    options: { osType?: 'Linux' | 'Windows' } = {},
  ): Promise<Json> {
    const id = this.id(resourceGroup, 'Microsoft.Compute/disks', name);
    await this.#disks.seed(id, region, data);
    return this.seed(id, {
      location: region,
      sku: { name: 'StandardSSD_LRS' },
      properties: {
        creationData: { createOption: 'Empty' },
        diskSizeGB: Math.ceil(data.length / 1024 ** 3),
        diskSizeBytes: data.length,
        ...(options.osType ? { osType: options.osType } : {}),
      },
    });
  }

  /** The data of a disk's or snapshot's backing blob (without the VHD footer). */
  diskBytes(id: string): Promise<Buffer> {
    return this.#disks.bytes(id);
  }

  /**
   * A managed disk's backing page blob (its data, then the VHD footer): what the VM's guest writes
   * to, for a test's mobility agent standing in for the one inside the VM.
   */
  diskBlob(id: string): PageBlobClient {
    const blob = this.#disks.backingBlob(id);
    if (!blob) throw new Error(`fake.diskBlob: ${id} has no bytes (no disk storage in its region).`);
    return blob;
  }

  /** Answers the next `times` requests that match with `response` instead. */
  fault(match: (req: RecordedRequest) => boolean, response: FaultResponse, times = 1): void {
    this.#faults.push({ match, response, times });
  }

  /** The requests as `METHOD path?query` lines (query sorted), e.g. for toEqual. */
  lines(): string[] {
    return this.requests.map((r) => {
      const q = Object.entries(r.query)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${v}`)
        .join('&');
      return `${r.method} ${r.path.replace(this.url, '')}${q ? `?${q}` : ''}`;
    });
  }

  /** Forgets the recorded requests. */
  reset(): void {
    this.requests.length = 0;
  }

  /** Back to empty: no resources, requests, faults or operations, default settings. */
  clear(): void {
    this.reset();
    this.resources.clear();
    this.power.clear();
    this.#faults = [];
    this.#operations.clear();
    this.#next = 1;
    this.#etag = 1;
    this.pollsBeforeDone = 0;
    this.lroRetryAfter = '0';
    this.requireToken = false;
    this.#disks.clear();
  }

  /** The resource as a GET answers it (with computed views), or undefined. */
  view(id: string, expand?: string): Json | undefined {
    const stored = this.resources.get(id.toLowerCase());
    if (!stored) return undefined;
    const r = clone(stored);
    const type = typeOf(id);
    const props = (r.properties ??= {}) as Json;
    if (type === 'microsoft.network/virtualnetworks') {
      for (const subnet of (props.subnets as Json[] | undefined) ?? []) {
        const sid = `${r.id as string}/subnets/${subnet.name as string}`;
        subnet.id = sid;
        subnet.etag = r.etag;
        const sp = (subnet.properties ??= {}) as Json;
        sp.provisioningState = 'Succeeded';
        const configs = this.#nicConfigsIn(sid);
        if (configs.length) sp.ipConfigurations = configs.map((c) => ({ id: c.id }));
        else delete sp.ipConfigurations;
      }
    }
    if (type === 'microsoft.network/networkinterfaces') {
      for (const c of (props.ipConfigurations as Json[] | undefined) ?? []) {
        c.id = `${r.id as string}/ipConfigurations/${c.name as string}`;
        ((c.properties ??= {}) as Json).provisioningState = 'Succeeded';
      }
      const vm = this.#vmUsing(r.id as string);
      if (vm) props.virtualMachine = { id: vm };
    }
    if (type === 'microsoft.compute/virtualmachines') {
      // ARM reports each managed disk's size in the VM's storage profile.
      const storage = (props.storageProfile ?? {}) as Json;
      for (const disk of [storage.osDisk, ...((storage.dataDisks as unknown[] | undefined) ?? [])] as (
        Json | undefined
      )[]) {
        const id = (disk?.managedDisk as Json | undefined)?.id;
        const size = id
          ? (this.resources.get(String(id).toLowerCase())?.properties as Json | undefined)?.diskSizeGB
          : undefined;
        if (disk && size !== undefined) disk.diskSizeGB = size;
      }
    }
    if (type === 'microsoft.compute/virtualmachines' && expand === 'instanceView') {
      const power = this.power.get(id.toLowerCase()) ?? 'running';
      props.instanceView = {
        statuses: [
          { code: 'ProvisioningState/succeeded', displayStatus: 'Provisioning succeeded' },
          { code: `PowerState/${power}`, displayStatus: `VM ${power}` },
        ],
      };
    }
    return r;
  }

  #nicConfigsIn(subnetId: string): { id: string; ip?: string; nic: string }[] {
    const out: { id: string; ip?: string; nic: string }[] = [];
    for (const [key, nic] of this.resources) {
      if (typeOf(key) !== 'microsoft.network/networkinterfaces') continue;
      for (const c of ((nic.properties as Json | undefined)?.ipConfigurations as Json[] | undefined) ?? []) {
        const cp = (c.properties ?? {}) as Json;
        if (String((cp.subnet as Json | undefined)?.id ?? '').toLowerCase() !== subnetId.toLowerCase())
          continue;
        out.push({
          id: `${nic.id as string}/ipConfigurations/${c.name as string}`,
          ip: cp.privateIPAddress as string | undefined,
          nic: key,
        });
      }
    }
    return out;
  }

  #vmUsing(nicId: string): string | undefined {
    for (const [key, vm] of this.resources) {
      if (typeOf(key) !== 'microsoft.compute/virtualmachines') continue;
      const nics = (
        (((vm.properties as Json | undefined)?.networkProfile as Json | undefined)?.networkInterfaces ??
          []) as Json[]
      ).map((n) => String(n.id).toLowerCase());
      if (nics.includes(nicId.toLowerCase())) return vm.id as string;
    }
    return undefined;
  }

  #store(id: string, body: Json, location: string | undefined): Json {
    const type = typeOf(id);
    const name = id.split('/').pop()!;
    const stored: Json = {
      ...body,
      id,
      name,
      ...(type === 'resourcegroups'
        ? {}
        : { type: id.split('/providers/')[1]!.split('/').slice(0, 2).join('/') }),
      location: body.location ?? location,
      properties: { ...((body.properties as Json | undefined) ?? {}), provisioningState: 'Succeeded' },
    };
    delete stored.etag;
    if (ETAG_TYPES.includes(type)) stored.etag = `W/"${this.#etag++}"`;
    this.resources.set(id.toLowerCase(), stored);
    return stored;
  }

  #operation(
    then: () => void | Promise<void>,
    failure?: { code: string; message: string },
    result?: unknown,
  ): string {
    const n = String(this.#next++);
    this.#operations.set(n, {
      pending: this.pollsBeforeDone,
      status: failure ? 'Failed' : 'Succeeded',
      ...(failure ? { error: failure } : {}),
      done: then,
      finished: false,
      ...(result !== undefined ? { result } : {}),
    });
    return n;
  }

  #lroHeaders(extra: Record<string, string>): Record<string, string> {
    return { ...extra, ...(this.lroRetryAfter !== undefined ? { 'Retry-After': this.lroRetryAfter } : {}) };
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers['if-match'] ? { ifMatch: String(req.headers['if-match']) } : {}),
      ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(text ? { body: JSON.parse(text) as unknown } : {}),
    };
    this.requests.push(recorded);
    const answer = (r: FakeResponse): void => {
      res.writeHead(r.status, {
        ...(r.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...r.headers,
      });
      res.end(r.body === undefined ? undefined : JSON.stringify(r.body));
    };
    const fault = this.#faults.find((f) => f.times > 0 && f.match(recorded));
    if (fault) {
      fault.times--;
      const response = typeof fault.response === 'function' ? fault.response(recorded) : fault.response;
      if (response) {
        answer(response);
        return;
      }
    }
    try {
      if (url.pathname === MSI_TOKEN_PATH) {
        const header = req.headers['x-identity-header'];
        answer(
          msiToken(recorded, header === undefined ? undefined : String(header), {
            token: this.token,
            identityHeader: this.identityHeader,
            clientId: this.identityClientId,
          }),
        );
        return;
      }
      if (this.requireToken && recorded.authorization !== `Bearer ${this.token}`) {
        answer(
          recorded.authorization
            ? this.#error(401, 'InvalidAuthenticationToken', 'The access token is invalid.')
            : this.#error(
                401,
                'AuthenticationFailed',
                "Authentication failed. The 'Authorization' header is missing.",
              ),
        );
        return;
      }
      answer(await this.#route(recorded));
    } catch (err) {
      answer({ status: 500, body: { error: { code: 'FakeError', message: String(err) } } });
    }
  }

  #error(status: number, code: string, message: string): FakeResponse {
    return { status, body: { error: { code, message } } };
  }

  async #route(r: RecordedRequest): Promise<FakeResponse> {
    const path = r.path;
    const op = /^\/operations\/(\d+)$/.exec(path) ?? /^\/operationResults\/(\d+)$/.exec(path);
    if (op) return this.#poll(op[1]!, path.startsWith('/operationResults/'));
    if (r.method === 'GET') return this.#get(r);
    if (r.method === 'PUT') return this.#put(r);
    if (r.method === 'DELETE') return this.#delete(r);
    if (r.method === 'POST') return this.#action(r);
    return this.#error(405, 'MethodNotAllowed', r.method);
  }

  async #poll(n: string, location: boolean): Promise<FakeResponse> {
    const op = this.#operations.get(n);
    if (!op) return this.#error(404, 'NotFound', `operation ${n}`);
    if (op.pending > 0) {
      op.pending--;
      return location
        ? { status: 202, headers: this.#lroHeaders({ Location: `${this.url}/operationResults/${n}` }) }
        : { status: 200, body: { status: 'InProgress' } };
    }
    if (!op.finished) {
      op.finished = true;
      if (op.status === 'Succeeded') await op.done();
    }
    const result = op.status === 'Succeeded' ? op.result : undefined;
    if (location) {
      if (op.status !== 'Succeeded') return this.#error(400, op.error!.code, op.error!.message);
      return result === undefined ? { status: 204 } : { status: 200, body: result };
    }
    return {
      status: 200,
      body: {
        status: op.status,
        ...(op.error ? { error: op.error } : {}),
        ...(result !== undefined ? { properties: { output: result } } : {}),
      },
    };
  }

  #get(r: RecordedRequest): FakeResponse {
    const path = r.path;
    const lower = path.toLowerCase();
    const sub = `/subscriptions/${this.subscriptionId}`.toLowerCase();
    if (lower === `${sub}/resourcegroups`)
      return { status: 200, body: { value: this.#all((k) => typeOf(k) === 'resourcegroups') } };
    const inGroup = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/resources$/.exec(lower);
    if (inGroup) {
      if (!this.resources.has(`${sub}/resourcegroups/${inGroup[1]}`))
        return this.#error(404, 'ResourceGroupNotFound', inGroup[1]!);
      const all = this.#all((k) => typeOf(k) !== 'resourcegroups' && groupOf(k) === inGroup[1]);
      const top = Number(r.query.$top ?? all.length);
      return { status: 200, body: { value: all.slice(0, top) } };
    }
    const listAll = /^\/subscriptions\/[^/]+\/providers\/([^/]+\/[^/]+)$/.exec(lower);
    if (listAll) return { status: 200, body: { value: this.#all((k) => typeOf(k) === listAll[1]) } };
    const listGroup = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/([^/]+\/[^/]+)$/.exec(
      lower,
    );
    if (listGroup) {
      if (!this.resources.has(`${sub}/resourcegroups/${listGroup[1]}`))
        return this.#error(404, 'ResourceGroupNotFound', listGroup[1]!);
      return {
        status: 200,
        body: { value: this.#all((k) => typeOf(k) === listGroup[2] && groupOf(k) === listGroup[1]) },
      };
    }
    const found = this.view(path, r.query.$expand);
    if (!found) {
      const group = groupOf(lower);
      if (
        typeOf(lower) !== 'resourcegroups' &&
        group &&
        !this.resources.has(`${sub}/resourcegroups/${group}`)
      ) {
        return this.#error(404, 'ResourceGroupNotFound', `Resource group '${group}' could not be found.`);
      }
      return this.#error(404, 'ResourceNotFound', `The Resource '${path}' was not found.`);
    }
    return { status: 200, body: found };
  }

  #all(filter: (key: string) => boolean): Json[] {
    return [...this.resources.keys()].filter(filter).map((k) => this.view(k)!);
  }

  #precondition(r: RecordedRequest, existing: Json | undefined): FakeResponse | undefined {
    if (r.ifNoneMatch === '*' && existing)
      return this.#error(412, 'PreconditionFailed', 'The resource exists.');
    if (r.ifMatch !== undefined && r.ifMatch !== '*' && existing?.etag !== r.ifMatch) {
      return this.#error(412, 'PreconditionFailed', `The etag ${r.ifMatch} does not match.`);
    }
    return undefined;
  }

  async #put(r: RecordedRequest): Promise<FakeResponse> {
    const id = r.path;
    const key = id.toLowerCase();
    const type = typeOf(key);
    const group = groupOf(key);
    if (
      type !== 'resourcegroups' &&
      group &&
      !this.resources.has(`/subscriptions/${this.subscriptionId}/resourcegroups/${group}`.toLowerCase())
    ) {
      return this.#error(404, 'ResourceGroupNotFound', `Resource group '${group}' could not be found.`);
    }
    const existing = this.resources.get(key);
    const failed = this.#precondition(r, existing);
    if (failed) return failed;
    // A copy: the disks fill in sizes, and the recorded request stays as it was sent.
    const body = clone((r.body ?? {}) as Json);
    if (type === 'microsoft.network/networkinterfaces') {
      for (const c of ((body.properties as Json | undefined)?.ipConfigurations as Json[] | undefined) ?? []) {
        const cp = (c.properties ?? {}) as Json;
        const sid = String((cp.subnet as Json | undefined)?.id ?? '');
        const taken = this.#nicConfigsIn(sid).find((x) => x.ip === cp.privateIPAddress && x.nic !== key);
        if (taken) {
          return this.#error(
            400,
            'PrivateIPAddressInUse',
            `IP configuration ${c.name as string} is using the private IP address ${cp.privateIPAddress as string} which is already allocated to resource ${taken.id}.`,
          );
        }
      }
    }
    if (type === 'microsoft.compute/virtualmachines') {
      const busy = this.#disks.checkAttach(body, existing);
      if (busy) return busy;
    }
    if (isDiskType(type) && !existing) {
      const refused = await this.#disks.create(id, body);
      if (refused) return refused;
    }
    const status = existing ? 200 : 201;
    const stored = this.#store(id, body, existing?.location as string | undefined);
    if (type === 'microsoft.compute/virtualmachines' && !existing) this.power.set(key, 'running');
    if (!ASYNC_TYPES.some((t) => type.startsWith(t))) return { status, body: this.view(id) };
    const n = this.#operation(() => undefined);
    return {
      status,
      headers: this.#lroHeaders({
        'Azure-AsyncOperation': `${this.url}/operations/${n}?api-version=${r.query['api-version']}`,
      }),
      body: stored,
    };
  }

  async #delete(r: RecordedRequest): Promise<FakeResponse> {
    const key = r.path.toLowerCase();
    const existing = this.resources.get(key);
    if (!existing) return { status: 204 };
    const failed = this.#precondition(r, existing) ?? this.#disks.checkDelete(key);
    if (failed) return failed;
    const remove = async (): Promise<void> => {
      const gone = [key];
      if (typeOf(key) === 'resourcegroups') {
        gone.push(...[...this.resources.keys()].filter((k) => k !== key && groupOf(k) === groupOf(key)));
      }
      for (const k of gone) {
        this.resources.delete(k);
        this.power.delete(k);
        if (isDiskType(typeOf(k))) await this.#disks.removed(k);
      }
    };
    const type = typeOf(key);
    if (type !== 'resourcegroups' && !ASYNC_TYPES.some((t) => type.startsWith(t))) {
      await remove();
      return { status: 200 };
    }
    const n = this.#operation(remove);
    return { status: 202, headers: this.#lroHeaders({ Location: `${this.url}/operationResults/${n}` }) };
  }

  async #action(r: RecordedRequest): Promise<FakeResponse> {
    const access =
      /^(.*\/providers\/microsoft\.compute\/(?:disks|snapshots)\/[^/]+)\/(begingetaccess|endgetaccess)$/i.exec(
        r.path,
      );
    if (access) return this.#access(r, access[1]!, access[2]!.toLowerCase() === 'begingetaccess');
    const m =
      /^(.*\/providers\/microsoft\.compute\/virtualmachines\/[^/]+)\/(start|poweroff|deallocate)$/i.exec(
        r.path,
      );
    if (!m) return this.#error(404, 'NotFound', r.path);
    const key = m[1]!.toLowerCase();
    if (!this.resources.has(key)) return this.#error(404, 'ResourceNotFound', m[1]!);
    const state = { start: 'running', poweroff: 'stopped', deallocate: 'deallocated' }[m[2]!.toLowerCase()]!;
    if (state === 'running') {
      const busy = this.#disks.checkStart(key);
      if (busy) return busy;
    }
    const n = this.#operation(() => void this.power.set(key, state));
    return this.#accepted(r, n);
  }

  /** 202 with `Azure-AsyncOperation` and `Location`, as ARM answers a long-running POST. */
  #accepted(r: RecordedRequest, n: string): FakeResponse {
    return {
      status: 202,
      headers: this.#lroHeaders({
        'Azure-AsyncOperation': `${this.url}/operations/${n}?api-version=${r.query['api-version']}`,
        Location: `${this.url}/operationResults/${n}`,
      }),
    };
  }

  /** beginGetAccess (the result `{accessSAS}`) or endGetAccess on a disk or snapshot. */
  async #access(r: RecordedRequest, id: string, begin: boolean): Promise<FakeResponse> {
    if (begin) {
      const granted = await this.#disks.beginGetAccess(id, (r.body ?? {}) as Json);
      if ('refused' in granted) return granted.refused;
      return this.#accepted(
        r,
        this.#operation(() => undefined, undefined, { accessSAS: granted.sas }),
      );
    }
    const ended = this.#disks.endGetAccess(id);
    if ('refused' in ended) return ended.refused;
    return this.#accepted(r, this.#operation(ended.done));
  }
}

/** An ArmFabricStore for `region` over `fake`, on an instant clock with a static token. */
export function fakeArmStore(
  fake: FakeArm,
  region = 'eastus',
  clock: Clock = new InstantClock(),
): { store: ArmFabricStore; client: ArmClient } {
  const client = new ArmClient({
    endpoint: fake.url,
    credential: new StaticTokenCredential(fake.token),
    clock,
    pollIntervalMs: 1,
    retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2 },
  });
  return { store: new ArmFabricStore(region, client, fake.subscriptionId), client };
}
