import { describe, expect, it } from 'vitest';

import {
  ACTIONS,
  ALLOWED_FROM,
  allowedActions,
  confirmationFor,
  ENABLE_RESTARTABLE,
} from '../../../portal/lib/actions.js';
import { canRestartEnable } from '../../../shared/jobs/enableRules';
import { JOB_KINDS } from '../../../shared/jobs/types';
import { itemRefusal, WORKFLOW_RULES } from '../../../shared/jobs/workflowRules';
import {
  PROTECTED_ITEM_STATES,
  type ProtectedItem,
  type TestFailoverRecord,
} from '../../../shared/protectedItems';

const item = (state: string) => ({ state });
const base = { region: 'eastus', sourceRegion: 'eastus' };

describe('portal actions', () => {
  it('offer exactly what the server allows from each state', () => {
    expect(ALLOWED_FROM).toEqual(
      Object.fromEntries(Object.entries(WORKFLOW_RULES).map(([kind, rule]) => [kind, [...rule.from]])),
    );
    for (const state of PROTECTED_ITEM_STATES) {
      const restartable = canRestartEnable({ state } as ProtectedItem);
      expect(ENABLE_RESTARTABLE.includes(state), state).toBe(restartable);
    }
  });

  it('offer a workflow exactly when the server would start it, test VM up or not', () => {
    const testFailover = {
      vm: { region: 'westus', resourceGroup: 'rg-asr', name: 'web1-test' },
    } as TestFailoverRecord;
    for (const state of PROTECTED_ITEM_STATES) {
      for (const withTest of [false, true]) {
        const offered = allowedActions({
          ...base,
          protectedItem: { state, ...(withTest ? { testFailover: { testVm: testFailover.vm } } : {}) },
        });
        for (const action of ACTIONS.filter((a) => a.id !== 'enable')) {
          const kind = action.kind as keyof typeof WORKFLOW_RULES;
          const item = { resourceGroup: 'rg', vm: 'web1', state, ...(withTest ? { testFailover } : {}) };
          let allowed = itemRefusal(kind, item) === undefined;
          // A TestFailedOver item whose view lacks the record still offers cleanup; the server answers.
          if (kind === 'TestFailoverCleanup' && state === 'TestFailedOver' && !withTest) allowed = true;
          expect(
            offered.includes(action.id),
            `${action.id} from ${state}${withTest ? ' with a test VM' : ''}`,
          ).toBe(allowed);
        }
      }
    }
  });

  it('name a real job kind and route for every action', () => {
    for (const action of ACTIONS) expect(Object.keys(JOB_KINDS)).toContain(action.kind);
    expect(ACTIONS.filter((a) => a.destructive).map((a) => a.id)).toEqual([
      'failover',
      'testFailoverCleanup',
      'commitFailover',
      'disableReplication',
    ]);
  });

  it('offers enable for an unprotected VM of the source region only', () => {
    expect(allowedActions({ ...base, protectedItem: null })).toEqual(['enable']);
    expect(allowedActions({ ...base, region: 'westus', protectedItem: null })).toEqual([]);
    expect(allowedActions({ region: 'westus', protectedItem: null })).toEqual(['enable']);
    expect(allowedActions({ ...base, protectedItem: null, jobRunning: true })).toEqual([]);
  });

  it('follows the protected item state', () => {
    expect(allowedActions({ ...base, protectedItem: item('Protected') })).toEqual([
      'failover',
      'testFailover',
      'disableReplication',
    ]);
    expect(allowedActions({ ...base, protectedItem: item('InitialReplication') })).toEqual([
      'enable',
      'disableReplication',
    ]);
    expect(allowedActions({ ...base, protectedItem: item('TestFailedOver') })).toEqual([
      'testFailoverCleanup',
    ]);
    expect(allowedActions({ ...base, protectedItem: item('FailedOver') })).toEqual([
      'failover',
      'commitFailover',
      'disableReplication',
    ]);
    expect(allowedActions({ ...base, protectedItem: item('FailoverCommitted') })).toEqual([
      'reprotect',
      'disableReplication',
    ]);
    for (const busy of ['FailoverInProgress', 'TestFailoverInProgress', 'Reprotecting', 'Disabling']) {
      expect(allowedActions({ ...base, protectedItem: item(busy) }), busy).toEqual([]);
    }
  });

  it('offers nothing while a job holds the item', () => {
    expect(
      allowedActions({
        ...base,
        protectedItem: { state: 'FailedOver', activeJob: { id: 'commit-rg-vm-1', kind: 'CommitFailover' } },
      }),
    ).toEqual([]);
    expect(allowedActions({ ...base, protectedItem: item('Protected'), jobRunning: true })).toEqual([]);
  });

  it('asks to confirm destructive actions with a danger button', () => {
    for (const id of ['failover', 'testFailoverCleanup', 'commitFailover', 'disableReplication'] as const) {
      const text = confirmationFor(id, { vm: 'rg/web1', targetRegion: 'westus', point: 'latest' });
      expect(text.danger, id).toBe(true);
      expect(text.title).toContain('rg/web1');
      expect(text.message.length).toBeGreaterThan(10);
    }
    expect(
      confirmationFor('failover', { vm: 'rg/web1', targetRegion: 'westus', point: 'rp-1-7' }).message,
    ).toContain('rp-1-7');
    expect(confirmationFor('reprotect', { vm: 'rg/web1' }).danger).toBe(false);
  });
});
