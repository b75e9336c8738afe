import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useAzurite } from '../../helpers/azurite';
import { type DurableHost, getStatus, startDurableHost, startViaHttp, waitForStatus } from './helpers';

describe('durable: chaining and fan-out', () => {
  const azurite = useAzurite();
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  it('chains activities in order', async () => {
    const started = await startViaHttp(d.host, 'chain');
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    expect(status.name).toBe('chain');
  });

  it('fans out to 100 activities and fans in', async () => {
    const started = await startViaHttp(d.host, 'fanOut', 100);
    const status = await waitForStatus(d.host, started.id, undefined, 30_000);
    expect(status.output).toEqual({ count: 100, sum: 10100 });
  });

  it('passes inputs of every shape to activities unchanged', async () => {
    const started = await startViaHttp(d.host, 'inputs');
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual(['123', 123, 'text', { a: [1, 'x'] }, null, true, 1.5]);
  });

  it('reports the start as Pending or Running with 202 and a Location', async () => {
    const started = await startViaHttp(d.host, 'waiter', undefined, 'basics-waiter');
    expect(started.id).toBe('basics-waiter');
    const s = await getStatus(d.host, started.id);
    expect(['Pending', 'Running']).toContain(s?.runtimeStatus);
  });
});
