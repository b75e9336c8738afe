import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useAzurite } from '../../helpers/azurite';
import { type DurableHost, getStatus, startDurableHost, startViaHttp, waitForStatus } from './helpers';

describe('durable: retries, failures and sub-orchestrations', () => {
  const azurite = useAzurite();
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  it('retries an activity until it succeeds on the third attempt', async () => {
    const started = await startViaHttp(d.host, 'retrySucceeds');
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toBe('ok after 3');
    const history = (await getStatus(d.host, started.id, '?showHistory=true&showHistoryOutput=true'))
      ?.historyEvents;
    const types = history?.map((e) => e.EventType);
    expect(types?.filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(types?.filter((t) => t === 'TimerFired')).toHaveLength(2);
    expect(history?.find((e) => e.EventType === 'TaskCompleted')?.Result).toBe('ok after 3');
  });

  it('surfaces the last failure once the attempts are exhausted (after the final retry timer)', async () => {
    const started = await startViaHttp(d.host, 'retryExhausts');
    const status = await waitForStatus(d.host, started.id);
    const caught = (status.output as { caught: string }).caught;
    expect(caught).toContain("Activity function 'alwaysFails' failed: fail 2");
    const history = (await getStatus(d.host, started.id, '?showHistory=true'))?.historyEvents;
    // Two attempts, each followed by a timer (the last one is the back-compat "dummy" timer).
    expect(history?.filter((e) => e.EventType === 'TaskFailed')).toHaveLength(2);
    expect(history?.filter((e) => e.EventType === 'TimerFired')).toHaveLength(2);
  });

  it('delivers activity failures in the legacy and the FailureDetails shapes', async () => {
    const started = await startViaHttp(d.host, 'failureShapes');
    const status = await waitForStatus(d.host, started.id);
    const out = status.output as {
      plain: { name: string; message: string };
      detailed: { name: string; message: string; failureDetails: Record<string, unknown> };
    };
    expect(out.plain.name).toBe('Error');
    expect(out.plain.message).toMatch(/^Activity function 'throwsPlain' failed: plain boom \n \{/);
    expect(out.detailed.name).toBe('TaskFailedError');
    expect(out.detailed.message).toBe('DetailedError: detailed boom');
    expect(out.detailed.failureDetails).toMatchObject({
      errorType: 'DetailedError',
      errorMessage: 'detailed boom',
      isNonRetriable: false,
      properties: { code: 'E_DETAILED' },
    });
  });

  it('passes FailureDetails through a failing sub-orchestration to its parent', async () => {
    const started = await startViaHttp(d.host, 'parentOfDetailed');
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toMatchObject({
      name: 'TaskFailedError',
      message: 'DetailedError: detailed boom',
      failureDetails: {
        errorType: 'DetailedError',
        errorMessage: 'detailed boom',
        properties: { code: 'E_DETAILED' },
      },
    });
  });

  it('fails an orchestration whose code throws', async () => {
    const started = await startViaHttp(d.host, 'failsItself');
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(status.output).toBe("Orchestrator function 'failsItself' failed: orchestrator boom");
  });

  it('lets a parent catch a failing sub-orchestration and call others (with retry)', async () => {
    const started = await startViaHttp(d.host, 'parent', undefined, 'parent-1');
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Completed');
    const out = status.output as { caught: string; ok: number; retried: number };
    expect(out.caught).toContain("Orchestrator function 'childFails' failed: child boom");
    expect(out.ok).toBe(42);
    expect(out.retried).toBe(10);
    const child = await getStatus(d.host, 'parent-1-child');
    expect(child?.runtimeStatus).toBe('Completed');
    expect(child?.output).toBe(42);
  });
});
