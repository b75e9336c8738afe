import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';
import {
  clientOp,
  type DurableHost,
  getStatus,
  rpc,
  type Status,
  startDurableHost,
  startViaHttp,
  waitForStatus,
} from './helpers';

describe('durable: instance management and status', () => {
  const azurite = useAzurite();
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  it('serves statusQueryGetUri with the system key, 401 without it, and accepts the master key', async () => {
    const started = await startViaHttp(d.host, 'chain');
    await waitForStatus(d.host, started.id);
    const ok = await fetch(started.statusQueryGetUri);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Status).output).toEqual(['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    const url = new URL(started.statusQueryGetUri);
    url.searchParams.delete('code');
    expect((await fetch(url)).status).toBe(401);
    url.searchParams.set('code', 'wrong');
    expect((await fetch(url)).status).toBe(401);
    url.searchParams.set('code', d.host.keys.masterKey);
    expect((await fetch(url)).status).toBe(200);
    url.searchParams.delete('code');
    expect(
      (await fetch(url, { headers: { 'x-functions-key': d.host.keys.systemKey('durabletask_extension') } }))
        .status,
    ).toBe(200);
  });

  it('answers 202 with Location and Retry-After while running, and shows custom status', async () => {
    const started = await startViaHttp(d.host, 'customStatus');
    const running = await waitFor(async () => {
      const res = await fetch(started.statusQueryGetUri);
      const body = (await res.json()) as Status;
      return res.status === 202 && body.customStatus ? { res, body } : undefined;
    });
    expect(running.res.headers.get('location')).toBe(started.statusQueryGetUri);
    expect(running.res.headers.get('retry-after')).toBe('5');
    expect(running.body.customStatus).toEqual({ stage: 'waiting', n: 1 });
    expect(running.body.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The durable client sees the same through its own API.
    const viaClient = (await (
      await fetch(`${d.host.url}/api/status/${started.id}?history=true`)
    ).json()) as Status;
    expect(viaClient.runtimeStatus).toBe('Running');
    expect(viaClient.customStatus).toEqual({ stage: 'waiting', n: 1 });
    const event = await fetch(started.sendEventPostUri.replace('{eventName}', 'go'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ done: true }),
    });
    expect(event.status).toBe(202);
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual({ done: true });
    expect(status.customStatus).toEqual({ stage: 'done' });
  });

  it('rejects a raised event whose body is not JSON', async () => {
    const started = await startViaHttp(d.host, 'waiter');
    await waitForStatus(d.host, started.id, ['Running']);
    const res = await rpc(d.host, `instances/${started.id}/raiseEvent/go`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(res.status).toBe(400);
    expect((await clientOp(d.host, 'terminate', { instanceId: started.id, reason: 'cleanup' })).status).toBe(
      202,
    );
  });

  it('refuses to start over a running instance id (409) but restarts a finished one', async () => {
    const id = uniqueName('dup');
    await startViaHttp(d.host, 'waiter', undefined, id);
    const again = await fetch(`${d.host.url}/durabletask/orchestrators/waiter/${id}`, { method: 'POST' });
    expect(again.status).toBe(409);
    await clientOp(d.host, 'raise', { instanceId: id, name: 'go', data: 1 });
    await waitForStatus(d.host, id);
    const restarted = await startViaHttp(d.host, 'chain', undefined, id);
    expect(restarted.id).toBe(id);
    const status = await waitForStatus(d.host, id, ['Completed']);
    expect(status.name).toBe('chain');
  });

  it('terminates a running instance and purges it', async () => {
    const started = await startViaHttp(d.host, 'waiter');
    await waitForStatus(d.host, started.id, ['Running']);
    expect((await rpc(d.host, `instances/${started.id}`, { method: 'DELETE' })).status).toBe(412);
    const res = await fetch(started.terminatePostUri.replace('{text}', 'enough'), { method: 'POST' });
    expect(res.status).toBe(202);
    const status = await waitForStatus(d.host, started.id, ['Terminated']);
    expect(status.output).toBe('enough');
    expect(
      (await fetch(started.terminatePostUri.replace('{text}', 'again'), { method: 'POST' })).status,
    ).toBe(410);
    const purged = await clientOp(d.host, 'purge', { instanceId: started.id });
    expect(await purged.json()).toEqual({ instancesDeleted: 1 });
    expect(await getStatus(d.host, started.id)).toBeUndefined();
    expect(await (await clientOp(d.host, 'purge', { instanceId: started.id })).json()).toEqual({
      instancesDeleted: 0,
    });
  });

  it('suspends and resumes: events wait while suspended', async () => {
    const started = await startViaHttp(d.host, 'waiter');
    await waitForStatus(d.host, started.id, ['Running']);
    await clientOp(d.host, 'suspend', { instanceId: started.id, reason: 'pause' });
    await waitForStatus(d.host, started.id, ['Suspended']);
    await clientOp(d.host, 'raise', { instanceId: started.id, name: 'go', data: 'held' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await getStatus(d.host, started.id))?.runtimeStatus).toBe('Suspended');
    await clientOp(d.host, 'resume', { instanceId: started.id, reason: 'go on' });
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('held');
    const history = (await getStatus(d.host, started.id, '?showHistory=true'))?.historyEvents ?? [];
    const types = history.map((e) => e.EventType);
    expect(types.indexOf('ExecutionSuspended')).toBeLessThan(types.indexOf('ExecutionResumed'));
    expect(types.indexOf('ExecutionResumed')).toBeLessThan(types.indexOf('EventRaised'));
  });

  it('lists instances with filters and paging (x-ms-continuation-token)', async () => {
    const prefix = uniqueName('list');
    const from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 5; i++) await startViaHttp(d.host, 'chain', undefined, `${prefix}-${i}`);
    for (let i = 0; i < 5; i++) await waitForStatus(d.host, `${prefix}-${i}`);
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res: Response = await rpc(
        d.host,
        `instances/?instanceIdPrefix=${prefix}&top=2&runtimeStatus=Completed`,
        {
          headers: token ? { 'x-ms-continuation-token': token } : {},
        },
      );
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as Status[]).map((s) => s.instanceId));
      token = res.headers.get('x-ms-continuation-token');
      pages++;
    } while (token);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
    expect(pages).toBeGreaterThanOrEqual(3);
    // The JS client's getStatusBy follows the continuation tokens itself.
    const byClient = (await (
      await clientOp(d.host, 'list', { runtimeStatus: ['Completed'], createdTimeFrom: from })
    ).json()) as Status[];
    expect(byClient.map((s) => s.instanceId)).toEqual(expect.arrayContaining(seen));
    expect(byClient.every((s) => s.runtimeStatus === 'Completed')).toBe(true);
  });

  it('purges by filter, and says 501 to rewind', async () => {
    const id = uniqueName('old');
    await startViaHttp(d.host, 'failsItself', undefined, id);
    await waitForStatus(d.host, id, ['Failed']);
    expect((await rpc(d.host, `instances/${id}/rewind?reason=x`, { method: 'POST' })).status).toBe(501);
    const from = new Date(Date.now() - 60_000).toISOString();
    const res = await rpc(d.host, `instances/?createdTimeFrom=${from}&runtimeStatus=Failed`, {
      method: 'DELETE',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { instancesDeleted: number }).instancesDeleted).toBeGreaterThanOrEqual(1);
    expect(await getStatus(d.host, id)).toBeUndefined();
    expect((await rpc(d.host, 'instances/', { method: 'DELETE' })).status).toBe(400);
  });

  it('hands out management URLs for this host (WEBSITE_HOSTNAME) and rejects unknown orchestrators', async () => {
    const payload = (await (await clientOp(d.host, 'payload', { instanceId: 'abc' })).json()) as Record<
      string,
      string
    >;
    expect(payload.id).toBe('abc');
    expect(payload.statusQueryGetUri).toBe(
      `${d.host.url}/runtime/webhooks/durabletask/instances/abc?taskHub=${d.hub}&connection=AzureWebJobsStorage&code=${d.host.keys.systemKey('durabletask_extension')}`,
    );
    const res = await rpc(d.host, 'orchestrators/nope', { method: 'POST' });
    expect(res.status).toBe(400);
  });

  it('waits for completion when asked (waitForCompletionOrCreateCheckStatusResponse)', async () => {
    const started = await startViaHttp(d.host, 'chain');
    const res = await clientOp(d.host, 'wait', { instanceId: started.id });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
  });
});
