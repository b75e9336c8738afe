/**
 * The seam between the host and its trigger and binding plugins. Each trigger kind (http, timer,
 * blob, queue, durable) is one plugin: it validates its own host.json section, listens for its
 * events and invokes functions through the Invoker. Bindings (blob/queue/table outputs, blob input,
 * durableClient) are BindingProviders the Invoker calls around each invocation.
 */
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RegisteredFunction } from './core/coreApi';
import type { Invoker } from './core/invoker';
import type { RpcBindingInfo, RpcTypedData } from './core/rpcTypes';
import type { HostJson } from './hostJson';
import type { HostKeys } from './keys';
import type { HttpRouter } from './httpServer';
import type { Settings } from './settings';
import type { StorageAccounts } from './storage';

export interface HostServices {
  appDir: string;
  /** Where the host keeps its own state (keys); git-ignored. */
  dataDir: string;
  /** Stable id for receipts, timer status and locks (like the real host id: lower-case, <= 32 chars). */
  hostId: string;
  hostJson: HostJson;
  settings: Settings;
  clock: Clock;
  logger: Logger;
  invoker: Invoker;
  storage: StorageAccounts;
  keys: HostKeys;
  /** The host's one HTTP listener; plugins add routes to it. */
  http: HttpRouter;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:7071 (known once listening). */
  baseUrl(): string;
}

export interface TriggerPlugin {
  readonly name: string;
  /** Binding types of the triggers this plugin runs, lower-case (e.g. 'blobtrigger'). */
  readonly triggerTypes: readonly string[];
  /** Bindings this plugin provides (durableClient, blob, queue, table ...), keyed by lower-case type. */
  readonly bindings?: Readonly<Record<string, BindingProvider>>;
  /** Validates config, prepares listeners. Throws a TidemarkError('InvalidConfig') on bad config. */
  init?(services: HostServices, functions: RegisteredFunction[]): Promise<void> | void;
  /** Starts listening; resolves once events are being received. */
  start(services: HostServices, functions: RegisteredFunction[]): Promise<void>;
  /** Stops taking new work and waits for in-flight invocations to finish. */
  stop(): Promise<void>;
}

export interface BindingContext {
  functionName: string;
  invocationId: string;
  /** Values for binding expressions: trigger metadata and trigger payload properties. */
  bindingData: Record<string, unknown>;
  services: HostServices;
}

export interface BindingProvider {
  /** Produces the value of an input binding before the function runs. */
  resolveInput?(binding: RpcBindingInfo, ctx: BindingContext): Promise<RpcTypedData | null | undefined>;
  /** Writes the value an output binding received once the function succeeded. */
  writeOutput?(binding: RpcBindingInfo, data: RpcTypedData, ctx: BindingContext): Promise<void>;
}

export function triggerBinding(fn: RegisteredFunction): { name: string; binding: RpcBindingInfo } {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction === 'in' && typeof binding.type === 'string' && /trigger$/i.test(binding.type)) {
      return { name, binding };
    }
  }
  throw new Error(`Function "${fn.metadata.name}" has no trigger binding.`);
}

export function functionsOfType(
  functions: RegisteredFunction[],
  types: readonly string[],
): RegisteredFunction[] {
  return functions.filter((fn) => types.includes(String(triggerBinding(fn).binding.type).toLowerCase()));
}
