/**
 * The Durable Functions plugin: runs orchestrationTrigger, activityTrigger and entityTrigger
 * functions on a task hub in Azure Storage (Azurite) and provides the durableClient input binding
 * (alias orchestrationClient) with its HTTP API.
 */
import type { RegisteredFunction } from '../core/coreApi';
import type { HostServices, TriggerPlugin } from '../plugin';
import { ClientApi } from './clientApi';
import { configuredHostname, durableClientBinding } from './clientBinding';
import { DurableEngine } from './engine';
import { DURABLE_TRIGGER_TYPES } from './functionIndex';
import type { LinkContext } from './managementLinks';
import { type DurableOptions, resolveDurableOptions } from './options';
import { durableRoutes, SYSTEM_KEY_NAME } from './routes';

const CLIENT_BINDING_TYPES = ['durableclient', 'orchestrationclient'];

function usesDurable(functions: readonly RegisteredFunction[]): boolean {
  return functions.some((fn) =>
    Object.values(fn.metadata.bindings).some((b) => {
      const type = String(b.type ?? '').toLowerCase();
      return DURABLE_TRIGGER_TYPES.includes(type) || CLIENT_BINDING_TYPES.includes(type);
    }),
  );
}

export function createDurablePlugin(): TriggerPlugin {
  let services: HostServices | undefined;
  let options: DurableOptions | undefined;
  let engine: DurableEngine | undefined;
  let started: Promise<void> | undefined;

  const require = (): { services: HostServices; engine: DurableEngine; options: DurableOptions } => {
    if (!services || !engine || !options) throw new Error('The durable plugin is not initialised.');
    return { services, engine, options };
  };
  const hostname = (): string => {
    const { services: s } = require();
    return configuredHostname(s.settings.get('WEBSITE_HOSTNAME')) ?? new URL(s.baseUrl()).host;
  };
  const links = (origin?: string): LinkContext => {
    const { services: s, options: o } = require();
    return {
      origin: origin ?? `http://${hostname()}`,
      hubName: o.hubName,
      connectionName: o.connectionName,
      systemKey: s.keys.systemKey(SYSTEM_KEY_NAME),
    };
  };
  const binding = durableClientBinding(
    () => links(),
    () => require().services.baseUrl(),
    hostname,
  );

  return {
    name: 'durable',
    triggerTypes: DURABLE_TRIGGER_TYPES,
    bindings: { durableclient: binding, orchestrationclient: binding },

    init(s, functions) {
      services = s;
      // An app without durable functions needs neither the section's settings nor a task hub.
      if (!usesDurable(functions)) return;
      options = resolveDurableOptions(s.hostJson, s.settings, s.logger);
      engine = new DurableEngine(s, functions, options);
      const api = new ClientApi(engine.client, s.clock);
      s.http.use(
        durableRoutes(
          api,
          s.keys,
          (req) => links(req.headers.host ? `http://${req.headers.host}` : undefined),
          () => started ?? Promise.reject(new Error('The durable engine is not running.')),
        ),
      );
    },

    async start() {
      if (!engine) return;
      started = engine.start();
      await started;
    },

    async stop() {
      if (!engine || !started) return;
      await started.catch(() => undefined);
      await engine.stop();
    },
  };
}
