/**
 * The HTTP trigger plugin: serves every `httpTrigger` function under host.json
 * `extensions.http.routePrefix` on the host's listener, plus the host's cheap admin endpoints.
 */
import { CoreApi } from '../../core/coreApi';
import { functionsOfType, type TriggerPlugin } from '../../plugin';
import type { AdminContext } from './admin';
import { loadHttpOptions } from './config';
import { createHttpTriggerHandler, type HttpTriggerHandler } from './handler';
import { RouteTable } from './routeTable';

const TRIGGER_TYPES = ['httptrigger'] as const;
// The Functions host version the core API reports to the library; admin/host/status shows the same.
const HOST_VERSION = new CoreApi(() => undefined).hostVersion;

export function createHttpPlugin(): TriggerPlugin {
  let handler: HttpTriggerHandler | undefined;
  let routes: RouteTable | undefined;
  let prefix = '';
  return {
    name: 'http',
    triggerTypes: TRIGGER_TYPES,

    init(services, functions) {
      const options = loadHttpOptions(services.hostJson, services.logger);
      prefix = options.routePrefix;
      routes = RouteTable.build(functionsOfType(functions, TRIGGER_TYPES), prefix);
      const admin: AdminContext = {
        services,
        functions,
        routes,
        routePrefix: prefix,
        hostVersion: HOST_VERSION,
      };
      handler = createHttpTriggerHandler(services, routes, options, admin);
      services.http.use(handler.handle);
    },

    async start(services) {
      for (const r of routes?.routes ?? []) {
        const methods = r.methods ? [...r.methods].join(',') : 'all';
        const path = prefix ? `${prefix}/${r.route}` : r.route;
        services.logger.info(`${r.fn.metadata.name}: [${methods}] ${services.baseUrl()}/${path}`, {
          function: r.fn.metadata.name,
          authLevel: r.authLevel,
        });
      }
    },

    async stop() {
      await handler?.stop();
    },
  };
}
