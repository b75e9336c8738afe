import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { RecordingLogger } from '../../shared/logger';
import { startHost } from '../../host/startHost';
import type { TriggerPlugin } from '../../host/plugin';

describe('host core', () => {
  it('loads an app through @azure/functions-core without test mode', async () => {
    const logger = new RecordingLogger();
    const fake: TriggerPlugin = {
      name: 'http',
      triggerTypes: ['httptrigger'],
      start: async () => {},
      stop: async () => {},
    };
    const host = startHost({
      appDir: path.join(__dirname, '../fixtures/smoke-app'),
      port: 0,
      logger,
      plugins: [fake],
      dataDir: '/tmp/smoke-keys',
    });
    await host.ready;
    expect(host.functions.map((f) => f.metadata.name)).toEqual(['hello']);
    expect((globalThis as Record<string, unknown>).__smokeStarted).toBe(true);
    const out = await host.services.invoker.invoke(host.functions[0]!, {
      triggerData: {
        http: {
          method: 'GET',
          url: 'http://x/api/hello?name=bob',
          headers: {},
          query: { name: 'bob' },
          params: {},
        },
      },
    });
    expect(out.ok).toBe(true);
    expect(Buffer.from(out.response!.returnValue!.http!.body!.bytes!).toString()).toBe('hi bob');
    await host.dispose();
  });
});

describe('disabled functions', () => {
  it('skips a function whose AzureWebJobs.<name>.Disabled setting is true', async () => {
    const fake: TriggerPlugin = {
      name: 'http',
      triggerTypes: ['httptrigger'],
      start: async () => {},
      stop: async () => {},
    };
    const host = startHost({
      appDir: path.join(__dirname, '../fixtures/smoke-app'),
      port: 0,
      logger: new RecordingLogger(),
      plugins: [fake],
      dataDir: '/tmp/smoke-keys',
      settings: { 'AzureWebJobs.hello.Disabled': 'true' },
    });
    await host.ready;
    expect(host.functions).toEqual([]);
    await host.dispose();
  });
});
