/**
 * Makes `require('@azure/functions-core')` return the host's core API, the way the real worker
 * does it (a Proxy on Module.prototype.require, installed before the app is loaded). Without it
 * `@azure/functions` falls into "test mode" and registers nothing.
 */
import Module from 'node:module';

const CORE_MODULE = '@azure/functions-core';

type RequireFn = (this: NodeJS.Module, id: string) => unknown;

let original: RequireFn | undefined;
let current: unknown;

export function installCoreModule(coreApi: unknown): void {
  current = coreApi;
  if (original) return;
  const proto = Module.prototype as unknown as { require: RequireFn };
  original = proto.require;
  const base = original;
  proto.require = new Proxy(base, {
    apply(target, thisArg: NodeJS.Module, args: [string]) {
      if (args[0] === CORE_MODULE) {
        if (current === undefined) throw new Error(`Cannot find module '${CORE_MODULE}'`);
        return current;
      }
      return Reflect.apply(target, thisArg, args);
    },
  });
}

/** Forgets the core API; a later app load in this process must install a new one. */
export function uninstallCoreModule(coreApi: unknown): void {
  if (current === coreApi) current = undefined;
}
