/**
 * Starts the local Functions host for one app folder: settings, host.json, keys, the app's
 * registrations through `@azure/functions-core`, one plugin per trigger kind, and the HTTP listener.
 */
import crypto from 'node:crypto';
import path from 'node:path';

import { type Clock, SystemClock } from '../shared/clock';
import { TidemarkError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { createPinoLogger } from '../shared/pinoLogger';
import { loadEntryFiles, purgeAppModules, resolveEntryFiles } from './core/appLoader';
import { CoreApi, type RegisteredFunction } from './core/coreApi';
import { Invoker } from './core/invoker';
import { installCoreModule, uninstallCoreModule } from './core/requireHook';
import type { RpcLogLevel } from './core/rpcTypes';
import { loadHostJson } from './hostJson';
import { HostHttpServer } from './httpServer';
import { HostKeys } from './keys';
import { type HostServices, triggerBinding, type TriggerPlugin } from './plugin';
import { loadSettings } from './settings';
import { StorageAccounts } from './storage';
import { defaultPlugins } from './triggers';

export interface StartHostOptions {
  appDir: string;
  /** HTTP port; 0 picks a free one. Default 7071. */
  port?: number;
  /** Settings on top of local.settings.json and the environment. */
  settings?: Record<string, string>;
  /** Whether the process environment is part of the settings (default true). */
  useProcessEnv?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Where keys and other host state are kept; default `<appDir>/.data/host`. */
  dataDir?: string;
  /** Replaces the default plugin set (for tests of one trigger). */
  plugins?: TriggerPlugin[];
}

export interface HostHandle {
  /** Resolves once every trigger listens; rejects with the startup error. */
  readonly ready: Promise<void>;
  /** http://127.0.0.1:PORT, once ready. */
  readonly url: string;
  readonly port: number;
  readonly keys: HostKeys;
  readonly functions: readonly RegisteredFunction[];
  readonly services: HostServices;
  /** Stops triggers, lets invocations in flight finish, runs appTerminate hooks, closes the listener. */
  dispose(): Promise<void>;
}

let loading: Promise<unknown> = Promise.resolve();

/** App loads are serialised: the core module hook is process-wide while an app's files load. */
function serially<T>(task: () => Promise<T>): Promise<T> {
  const next = loading.then(task, task);
  loading = next.catch(() => undefined);
  return next;
}

export function hostIdFor(appDir: string, explicit?: string): string {
  if (explicit) return explicit.toLowerCase().slice(0, 32);
  const base = path
    .basename(path.resolve(appDir))
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const hash = crypto.createHash('sha256').update(path.resolve(appDir)).digest('hex').slice(0, 8);
  // Host ids follow the real host's rules (HostIdValidator): no leading or doubled dashes.
  return `${base.slice(0, 23)}-${hash}`.replace(/-{2,}/g, '-').replace(/^-+/, '');
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/** Puts the app settings into process.env; returns a function that puts the old values back. */
function applySettingsToEnv(values: Readonly<Record<string, string>>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(values)) {
    if (process.env[key] === value) continue;
    previous.set(key, process.env[key]);
    process.env[key] = value;
  }
  return () => {
    for (const [key, value] of previous) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export function startHost(options: StartHostOptions): HostHandle {
  const state: {
    url?: string;
    port?: number;
    services?: HostServices;
    functions: RegisteredFunction[];
    stop?: () => Promise<void>;
    restoreEnv?: () => void;
  } = { functions: [] };

  const ready = (async () => {
    const appDir = path.resolve(options.appDir);
    const hostJson = loadHostJson(appDir);
    const settings = loadSettings(
      appDir,
      options.settings,
      options.useProcessEnv === false ? {} : process.env,
    );
    const logger = options.logger ?? createPinoLogger({ name: 'host' });
    const clock = options.clock ?? new SystemClock();
    const dataDir = options.dataDir ?? path.join(appDir, '.data', 'host');
    const hostId = hostIdFor(appDir, settings.get('AzureFunctionsWebHost__hostid'));

    const core = new CoreApi((level: RpcLogLevel, category, msg) => {
      const method = ({ information: 'info', warning: 'warn', critical: 'error', none: undefined } as const)[
        level as 'information'
      ];
      const name = method ?? (level as 'trace' | 'debug' | 'error');
      if (level !== 'none') logger[name](msg, { category });
    });
    // App settings are environment variables of the worker process, as in Azure.
    const restoreEnv = applySettingsToEnv(settings.all());
    state.restoreEnv = restoreEnv;
    await serially(async () => {
      installCoreModule(core);
      try {
        const { files, esm } = resolveEntryFiles(appDir);
        purgeAppModules(appDir);
        await loadEntryFiles(files, esm);
      } finally {
        uninstallCoreModule(core);
      }
    });
    core.lockRegistrations();
    const model = core.getProgrammingModel();
    if (model?.getCapabilities) {
      const caps = await model.getCapabilities({});
      if (caps.HttpUri) {
        throw new TidemarkError(
          'InvalidConfig',
          'The app enables HTTP streaming, which the local host does not support.',
          {
            hint: 'Remove app.setup({ enableHttpStream: true }) to run under tidemark-host.',
          },
        );
      }
    }
    // `AzureWebJobs.<name>.Disabled` = true|1 turns a function off, as in Azure.
    const disabled = (name: string): boolean =>
      /^(true|1)$/i.test(settings.get(`AzureWebJobs.${name}.Disabled`) ?? '');
    const functions = [...core.functions.values()].filter((fn) => {
      if (!disabled(fn.metadata.name)) return true;
      logger.info(
        `Function '${fn.metadata.name}' is disabled by its AzureWebJobs.${fn.metadata.name}.Disabled setting`,
      );
      return false;
    });
    state.functions = functions;

    const keys = HostKeys.load(dataDir, settings);
    const http = new HostHttpServer(logger);
    const invoker = new Invoker(core, logger, clock, hostJson.functionTimeoutMs);
    const plugins = options.plugins ?? defaultPlugins();
    for (const plugin of plugins) {
      for (const [type, provider] of Object.entries(plugin.bindings ?? {}))
        invoker.addBindingProvider(type, provider);
    }
    const served = new Set(plugins.flatMap((p) => p.triggerTypes));
    for (const fn of functions) {
      const type = String(triggerBinding(fn).binding.type);
      if (!served.has(type.toLowerCase())) {
        throw new TidemarkError(
          'InvalidConfig',
          `Function "${fn.metadata.name}" has a "${type}" trigger, which the local host does not run.`,
          {
            hint: `Triggers this host runs: ${[...served].join(', ')}.`,
          },
        );
      }
      invoker.checkBindings(fn);
    }

    const services: HostServices = {
      appDir,
      dataDir,
      hostId,
      hostJson,
      settings,
      clock,
      logger,
      invoker,
      storage: new StorageAccounts(settings),
      keys,
      http,
      baseUrl: () => {
        if (!state.url) throw new TidemarkError('Internal', 'The host URL is not known before it listens.');
        return state.url;
      },
    };
    state.services = services;
    invoker.attach(services);

    for (const plugin of plugins) await plugin.init?.(services, functions);
    const port = await http.listen(options.port ?? 7071);
    state.port = port;
    state.url = `http://127.0.0.1:${port}`;

    const started: TriggerPlugin[] = [];
    // Shared by appStart and appTerminate only, as the worker's appLevelOnlyHookData.
    const appLevelHookData: Record<string, unknown> = {};
    state.stop = once(async () => {
      const closing = http.close();
      await Promise.all(started.map((p) => p.stop()));
      await invoker.drain();
      for (const hook of core.hooks.appTerminate) {
        try {
          await hook({ hookData: appLevelHookData, appHookData: invoker.appHookData });
        } catch (err) {
          logger.error('appTerminate hook failed', { err: (err as Error)?.stack });
        }
      }
      await closing;
      restoreEnv();
    });

    for (const hook of core.hooks.appStart) {
      await hook({
        hookData: appLevelHookData,
        appHookData: invoker.appHookData,
        functionAppDirectory: appDir,
      });
    }
    for (const plugin of plugins) {
      started.push(plugin);
      await plugin.start(services, functions);
    }
    logger.info('Host started', {
      url: state.url,
      functions: functions.map((f) => `${f.metadata.name} (${String(triggerBinding(f).binding.type)})`),
    });
  })();

  let disposed: Promise<void> | undefined;
  // A host that fails half-way through starting releases what it already holds.
  ready.catch(async () => {
    await state.stop?.().catch(() => undefined);
    state.restoreEnv?.();
  });
  const notReady = (what: string): never => {
    throw new TidemarkError('Internal', `host.${what} is not available before host.ready resolves.`);
  };
  return {
    ready,
    get url() {
      return state.url ?? notReady('url');
    },
    get port() {
      return state.port ?? notReady('port');
    },
    get keys() {
      return state.services?.keys ?? notReady('keys');
    },
    get services() {
      return state.services ?? notReady('services');
    },
    get functions() {
      return state.functions;
    },
    dispose() {
      disposed ??= (async () => {
        await ready.catch(() => undefined);
        await state.stop?.();
      })();
      return disposed;
    },
  };
}
