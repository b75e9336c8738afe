import { describe, expect, it } from 'vitest';

import { resolveDurableOptions } from '../../../host/durable/options';
import { Settings } from '../../../host/settings';

const hostJson = (durableTask?: unknown) => ({
  version: '2.0' as const,
  extensions: durableTask ? { durableTask } : {},
});

describe('durableTask options', () => {
  it("uses the Azure Storage provider's defaults", () => {
    const o = resolveDurableOptions(hostJson(), new Settings({}));
    expect(o).toMatchObject({
      hubName: 'TestHubName',
      connectionName: 'AzureWebJobsStorage',
      partitionCount: 4,
      controlQueueBatchSize: 32,
      controlQueueVisibilityMs: 300_000,
      workItemQueueVisibilityMs: 300_000,
      maxQueuePollingMs: 30_000,
    });
    expect(o.maxConcurrentActivities).toBeGreaterThanOrEqual(10);
    expect(resolveDurableOptions(hostJson(), new Settings({ WEBSITE_SITE_NAME: 'my-site' })).hubName).toBe(
      'mysite',
    );
  });

  it('resolves %setting% references and honours the configured values', () => {
    const o = resolveDurableOptions(
      hostJson({
        hubName: '%HUB%',
        storageProvider: { connectionName: 'Other', partitionCount: 2, maxQueuePollingInterval: '00:00:05' },
        maxConcurrentActivityFunctions: 3,
        maxConcurrentOrchestratorFunctions: 4,
      }),
      new Settings({ HUB: 'Prod-Hub' }),
    );
    expect(o).toMatchObject({
      hubName: 'ProdHub',
      connectionName: 'Other',
      partitionCount: 2,
      maxQueuePollingMs: 5000,
      maxConcurrentActivities: 3,
      maxConcurrentOrchestrations: 4,
    });
  });

  it('matches keys in any casing, as .NET configuration does', () => {
    const o = resolveDurableOptions(
      hostJson({
        HubName: 'CasedHub',
        StorageProvider: { PartitionCount: 3 },
        MaxConcurrentActivityFunctions: 2,
      }),
      new Settings({}),
    );
    expect(o).toMatchObject({ hubName: 'CasedHub', partitionCount: 3, maxConcurrentActivities: 2 });
  });

  it('rejects invalid values and unset settings with InvalidConfig', () => {
    expect(() =>
      resolveDurableOptions(hostJson({ storageProvider: { partitionCount: 40 } }), new Settings({})),
    ).toThrow(/partitionCount/);
    expect(() =>
      resolveDurableOptions(
        hostJson({ storageProvider: { controlQueueVisibilityTimeout: 'soon' } }),
        new Settings({}),
      ),
    ).toThrow(/TimeSpan/);
    expect(() => resolveDurableOptions(hostJson({ hubName: '%NOPE%' }), new Settings({}))).toThrow(/NOPE/);
  });
});
