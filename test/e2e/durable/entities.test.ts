import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';
import { clientOp, type DurableHost, rpc, startDurableHost, startViaHttp, waitForStatus } from './helpers';

async function readCounter(
  d: DurableHost,
  key: string,
): Promise<{ entityExists: boolean; entityState?: unknown }> {
  const res = await clientOp(d.host, 'readEntity', { name: 'counter', key });
  return (await res.json()) as { entityExists: boolean; entityState?: unknown };
}

describe('durable: entities', () => {
  const azurite = useAzurite();
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  it('applies 50 concurrent signals exactly once each', async () => {
    const sends = Array.from({ length: 50 }, (_, i) =>
      clientOp(d.host, 'signal', { name: 'counter', key: 'c50', op: 'add', input: i + 1 }),
    );
    const responses = await Promise.all(sends);
    expect(responses.every((r) => r.status === 202)).toBe(true);
    const state = await waitFor(
      async () => {
        const s = await readCounter(d, 'c50');
        return s.entityState === 1275 ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'the counter to reach 1275' },
    );
    expect(state).toEqual({ entityExists: true, entityState: 1275 });
  });

  it('answers callEntity from an orchestration, after its own signal, and reports failed operations', async () => {
    await clientOp(d.host, 'signal', { name: 'counter', key: 'orch', op: 'add', input: 10 });
    const started = await startViaHttp(d.host, 'counterCalls', { key: 'orch', add: 5 });
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Completed');
    const out = status.output as { value: number; failed: string };
    expect(out.value).toBe(15);
    expect(out.failed).toContain('failed');
  });

  it('reads state through the HTTP API and forwards signals between entities', async () => {
    await clientOp(d.host, 'signal', { name: 'counter', key: 'src', op: 'add', input: 3 });
    await clientOp(d.host, 'signal', { name: 'counter', key: 'src', op: 'forward', input: 'dst' });
    await waitFor(async () => (await readCounter(d, 'dst')).entityState === 3, {
      what: 'the forwarded signal',
    });
    const res = await rpc(d.host, 'entities/counter/src');
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(3);
    expect((await rpc(d.host, 'entities/counter/nobody')).status).toBe(404);
    expect((await readCounter(d, 'nobody')).entityExists).toBe(false);
  });

  it('deletes an entity', async () => {
    await clientOp(d.host, 'signal', { name: 'counter', key: 'gone', op: 'add', input: 1 });
    await waitFor(async () => (await readCounter(d, 'gone')).entityExists, { what: 'the entity to exist' });
    const res = await rpc(d.host, 'entities/counter/gone', { method: 'DELETE' });
    expect(res.status).toBe(202);
    await waitFor(async () => !(await readCounter(d, 'gone')).entityExists, {
      what: 'the entity to be deleted',
    });
  });
});
