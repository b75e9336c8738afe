/**
 * The jobs list a page at a time (shared/jobs/durableJobs.ts) over a fake Durable client: newest
 * first with ties by id, pages that go on after the last job of the page before even when jobs start
 * in between, the state filter passed down as runtime statuses, the VM filter ignoring case, and ids
 * that cannot name a job never reaching the client.
 */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { findStatus, getJob, type JobCursor, listJobsPage } from '../../../shared/jobs/durableJobs';
import type { Job } from '../../../shared/jobs/types';

interface Instance {
  instanceId: string;
  name: string;
  runtimeStatus: string;
  createdTime: string;
  input?: unknown;
}

function fakeClient(instances: Instance[]): DurableClient & { filters: unknown[]; ids: string[] } {
  const filters: unknown[] = [];
  const ids: string[] = [];
  const client = {
    filters,
    ids,
    getStatusBy: async (filter: { runtimeStatus?: string[] }) => {
      filters.push(filter);
      return instances.filter((i) => !filter.runtimeStatus || filter.runtimeStatus.includes(i.runtimeStatus));
    },
    getStatus: async (id: string) => {
      ids.push(id);
      const found = instances.find((i) => i.instanceId === decodeURIComponent(id));
      if (!found)
        throw new Error('DurableClient error: Durable Functions extension replied with HTTP 404 response.');
      return found;
    },
  };
  return client as unknown as DurableClient & { filters: unknown[]; ids: string[] };
}

const at = (second: number): string => new Date(Date.UTC(2026, 10, 26, 6, 30, second)).toISOString();

function instance(id: string, second: number, status = 'Completed', vm = ['shop-rg', 'web1']): Instance {
  return {
    instanceId: id,
    name: id.startsWith('enable') ? 'enableReplication' : 'failover',
    runtimeStatus: status,
    createdTime: at(second),
    input: { resourceGroup: vm[0], vm: vm[1] },
  };
}

async function allPages(client: DurableClient, top: number, between?: () => void): Promise<string[]> {
  const ids: string[] = [];
  let after: JobCursor | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await listJobsPage(client, { top, ...(after ? { after } : {}) });
    ids.push(...page.jobs.map((j: Job) => j.id));
    if (!page.next) return ids;
    after = page.next;
    between?.();
  }
  throw new Error('no end');
}

describe('listJobsPage', () => {
  const instances = [
    instance('enable-shop-rg-web1', 1),
    instance('failover-shop-rg-web1-b', 5),
    instance('failover-shop-rg-web1-a', 5),
    instance('enable-shop-rg-db1', 3, 'Failed', ['shop-rg', 'db1']),
    instance('failover-other-rg-app-x', 9, 'Running', ['Other-RG', 'App']),
    { ...instance('not-a-job', 10), name: 'someOrchestration' },
  ];

  it('lists jobs newest first, ties by id, and pages join to the whole list', async () => {
    const client = fakeClient(instances);
    const whole = (await listJobsPage(client, { top: 100 })).jobs.map((j) => j.id);
    expect(whole).toEqual([
      'failover-other-rg-app-x',
      'failover-shop-rg-web1-a',
      'failover-shop-rg-web1-b',
      'enable-shop-rg-db1',
      'enable-shop-rg-web1',
    ]);
    for (const top of [1, 2, 3, 5]) expect(await allPages(client, top)).toEqual(whole);
    const last = await listJobsPage(client, { top: 5 });
    expect(last.next).toBeNull();
  });

  it('goes on after the page before when newer jobs start meanwhile', async () => {
    const live = [...instances];
    const client = fakeClient(live);
    let n = 0;
    const ids = await allPages(client, 2, () =>
      live.push(instance(`failover-shop-rg-web1-new${n++}`, 20 + n)),
    );
    expect(ids).toEqual([
      'failover-other-rg-app-x',
      'failover-shop-rg-web1-a',
      'failover-shop-rg-web1-b',
      'enable-shop-rg-db1',
      'enable-shop-rg-web1',
    ]);
  });

  it('filters by state (asking the task hub for its runtime statuses) and by VM, ignoring case', async () => {
    const client = fakeClient(instances);
    const running = await listJobsPage(client, { top: 10, state: 'InProgress' });
    expect(running.jobs.map((j) => j.id)).toEqual(['failover-other-rg-app-x']);
    expect(client.filters.at(-1)).toEqual({
      runtimeStatus: expect.arrayContaining(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']),
    });
    const cancelled = await listJobsPage(client, { top: 10, state: 'Cancelled' });
    expect(cancelled.jobs).toEqual([]);
    expect(client.filters.at(-1)).toEqual({ runtimeStatus: ['Terminated', 'Canceled'] });
    const ofVm = await listJobsPage(client, { top: 10, vm: { resourceGroup: 'SHOP-RG', name: 'Web1' } });
    expect(ofVm.jobs.map((j) => j.id)).toEqual([
      'failover-shop-rg-web1-a',
      'failover-shop-rg-web1-b',
      'enable-shop-rg-web1',
    ]);
    const both = await listJobsPage(client, {
      top: 1,
      state: 'Succeeded',
      vm: { resourceGroup: 'shop-rg', name: 'web1' },
    });
    expect(both.jobs.map((j) => j.id)).toEqual(['failover-shop-rg-web1-a']);
    expect(both.next).toEqual({ startedAt: at(5), id: 'failover-shop-rg-web1-a' });
  });
});

describe('job ids', () => {
  it('asks the client only for ids a job can have, encoded', async () => {
    const client = fakeClient([instance('enable-shop-rg-web1', 1), instance('enable-ünïcode-rg-(a)_b.c', 2)]);
    for (const bad of ['', '.', '..', '?', 'a/b', 'a#b', 'a\\b', 'a b', 'x'.repeat(257), '%2F', '\u0000']) {
      expect(await findStatus(client, bad), JSON.stringify(bad)).toBeUndefined();
      await expect(getJob(client, bad)).rejects.toMatchObject({ code: 'NotFound' });
    }
    expect(client.ids).toEqual([]);
    expect((await getJob(client, 'enable-shop-rg-web1')).kind).toBe('EnableReplication');
    expect((await getJob(client, 'enable-ünïcode-rg-(a)_b.c')).id).toBe('enable-ünïcode-rg-(a)_b.c');
    expect(client.ids).toEqual(['enable-shop-rg-web1', encodeURIComponent('enable-ünïcode-rg-(a)_b.c')]);
    await expect(getJob(client, 'enable-nope')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('a status for another instance is not the job asked for', async () => {
    const other = instance('enable-shop-rg-web1', 1);
    const client = {
      getStatus: async () => other as unknown as DurableOrchestrationStatus,
    } as unknown as DurableClient;
    await expect(getJob(client, 'enable-shop-rg-web2')).rejects.toMatchObject({ code: 'NotFound' });
  });
});
