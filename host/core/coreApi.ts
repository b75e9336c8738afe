/**
 * The `@azure/functions-core` module as the real Node worker provides it (azure-functions-nodejs-worker
 * src/setupCoreModule.ts): function registration, the programming model, hooks, system logging.
 * One instance per host; the require hook hands it to `@azure/functions` and `durable-functions`.
 */
import type {
  FunctionCallback,
  HookCallback,
  ProgrammingModel,
  RpcFunctionMetadata,
  RpcLogCategory,
  RpcLogLevel,
} from './rpcTypes';

export class Disposable {
  #callOnDispose?: () => unknown;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  static from(...disposables: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const d of disposables) d.dispose();
    });
  }

  dispose(): void {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    fn?.();
  }
}

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate';
const HOOK_NAMES: readonly string[] = ['preInvocation', 'postInvocation', 'appStart', 'appTerminate'];

export interface RegisteredFunction {
  id: string;
  metadata: RpcFunctionMetadata;
  callback: FunctionCallback;
}

/** The error the worker raises for an unknown hook; the library matches on name and flag. */
class SystemRangeError extends RangeError {
  isAzureFunctionsSystemError = true;
}

export class CoreApi {
  readonly version = '3.10.1';
  readonly hostVersion = '4.1037.0';
  readonly Disposable = Disposable;

  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
  };
  #programmingModel?: ProgrammingModel;
  #locked = false;

  constructor(
    private readonly systemLog: (level: RpcLogLevel, category: RpcLogCategory, msg: string) => void,
  ) {
    // Members are used detached by the library (`const { registerFunction } = coreApi` style), so bind them.
    this.registerFunction = this.registerFunction.bind(this);
    this.registerHook = this.registerHook.bind(this);
    this.setProgrammingModel = this.setProgrammingModel.bind(this);
    this.getProgrammingModel = this.getProgrammingModel.bind(this);
    this.log = this.log.bind(this);
  }

  setProgrammingModel(model: ProgrammingModel): void {
    this.#programmingModel = model;
  }

  getProgrammingModel(): ProgrammingModel | undefined {
    return this.#programmingModel;
  }

  registerFunction(metadata: RpcFunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.#locked) {
      throw new Error(
        `A function can only be registered during app startup (function "${metadata?.name}" came too late).`,
      );
    }
    if (!metadata || typeof metadata.name !== 'string' || !metadata.name) {
      throw new Error('registerFunction needs metadata with a name.');
    }
    const id = metadata.functionId || metadata.name;
    if (this.functions.has(id)) {
      throw new Error(`A function with id "${id}" has already been registered.`);
    }
    this.functions.set(id, { id, metadata, callback });
    return new Disposable(() => {
      if (this.#locked) throw new Error('A function can only be disposed during app startup.');
      this.functions.delete(id);
    });
  }

  registerHook(hookName: string, callback: HookCallback): Disposable {
    if (!HOOK_NAMES.includes(hookName)) {
      throw new SystemRangeError(`Invalid hook name: ${hookName}.`);
    }
    const list = this.hooks[hookName as HookName];
    list.push(callback);
    return new Disposable(() => {
      const i = list.indexOf(callback);
      if (i >= 0) list.splice(i, 1);
    });
  }

  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    this.systemLog(level, category, message);
  }

  /** Called once the app's entry files are loaded: later registrations are refused, as in the worker. */
  lockRegistrations(): void {
    this.#locked = true;
  }
}
