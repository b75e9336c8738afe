/**
 * Runs one function invocation the way the Node worker does (azure-functions-nodejs-worker
 * InvocationHandler): build the core context, let the programming model convert the inputs, run the
 * pre/post invocation hooks, call the handler, convert the response, then write output bindings.
 * Emits one structured log line per invocation and routes user logs to the host logger.
 */
import crypto from 'node:crypto';

import type { Clock } from '../../shared/clock';
import { ensureError, TidemarkError } from '../../shared/errors';
import type { LogFields, Logger } from '../../shared/logger';
import type { BindingContext, BindingProvider, HostServices } from '../plugin';
import { triggerBinding } from '../plugin';
import type { CoreApi, RegisteredFunction } from './coreApi';
import type {
  CoreInvocationContext,
  ProgrammingModel,
  RpcBindingInfo,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcRetryContext,
  RpcTypedData,
} from './rpcTypes';

export interface InvocationRequest {
  /** The trigger's value, in worker RPC form. */
  triggerData: RpcTypedData;
  triggerMetadata?: Record<string, RpcTypedData>;
  /** Values for binding expressions (`{name}`, `{queueTrigger}` ...); case-insensitive. */
  bindingData?: Record<string, unknown>;
  retryContext?: RpcRetryContext;
  invocationId?: string;
  /** Extra fields for the invocation log line (e.g. blob name, dequeue count). */
  logFields?: Record<string, unknown>;
}

export interface InvocationOutcome {
  invocationId: string;
  ok: boolean;
  response?: RpcInvocationResponse;
  error?: Error;
  durationMs: number;
}

const LEVELS: Record<RpcLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error' | undefined> = {
  trace: 'trace',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

interface FunctionPlan {
  triggerName: string;
  /** The function's input bindings other than its trigger, in declaration order. */
  inputs: [string, RpcBindingInfo][];
  /** `$return` when it is an output binding the host writes (not the HTTP response). */
  returnBinding?: RpcBindingInfo;
}

export class Invoker {
  readonly appHookData: Record<string, unknown> = {};
  readonly #bindings = new Map<string, BindingProvider>();
  readonly #plans = new WeakMap<RegisteredFunction, FunctionPlan>();
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #services?: HostServices;

  constructor(
    private readonly core: CoreApi,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly functionTimeoutMs?: number,
  ) {}

  /** Late-bound because services contain the invoker itself. */
  /** The programming model the app registered (for benchmarks that call it directly). */
  get programmingModel(): ProgrammingModel | undefined {
    return this.core.getProgrammingModel();
  }

  attach(services: HostServices): void {
    this.#services = services;
  }

  addBindingProvider(type: string, provider: BindingProvider): void {
    this.#bindings.set(type.toLowerCase(), provider);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once no invocation is running. */
  async drain(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Checks, at startup, that every non-trigger binding of a function has a provider here. */
  checkBindings(fn: RegisteredFunction): void {
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      const type = String(binding.type ?? '').toLowerCase();
      if (/trigger$/.test(type) || (name === '$return' && type === 'http')) continue;
      if (!this.#bindings.has(type)) {
        throw new TidemarkError(
          'InvalidConfig',
          `Function "${fn.metadata.name}" uses a "${binding.type}" binding ("${name}"), which the local host does not provide.`,
          { hint: 'Supported bindings: ' + [...this.#bindings.keys()].join(', ') },
        );
      }
    }
  }

  async invoke(fn: RegisteredFunction, request: InvocationRequest): Promise<InvocationOutcome> {
    const invocationId = request.invocationId ?? crypto.randomUUID();
    const started = this.clock.now();
    const startedHr = performance.now();
    const functionName = fn.metadata.name;
    this.#inFlight++;
    let outcome: InvocationOutcome;
    try {
      const response = await this.#run(fn, request, invocationId);
      outcome = { invocationId, ok: true, response, durationMs: performance.now() - startedHr };
    } catch (err) {
      outcome = {
        invocationId,
        ok: false,
        error: ensureError(err),
        durationMs: performance.now() - startedHr,
      };
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
    // The function and invocation id lead the line, as a child logger's bindings would; one call to
    // the host logger writes it (no child logger per invocation).
    const fields: LogFields = {
      function: functionName,
      invocationId,
      startedAt: new Date(started).toISOString(),
      durationMs: Math.round(outcome.durationMs * 100) / 100,
      outcome: outcome.ok ? 'Succeeded' : 'Failed',
    };
    if (request.retryContext) fields.retryCount = request.retryContext.retryCount;
    if (request.logFields) Object.assign(fields, request.logFields);
    if (outcome.ok) this.logger.info(`Executed '${functionName}' (Succeeded)`, fields);
    else {
      fields.err = outcome.error?.stack ?? outcome.error?.message;
      this.logger.error(`Executed '${functionName}' (Failed)`, fields);
    }
    return outcome;
  }

  /** What an invocation of `fn` needs from its metadata, worked out once (registrations are locked). */
  #planFor(fn: RegisteredFunction): FunctionPlan {
    let plan = this.#plans.get(fn);
    if (!plan) {
      const trigger = triggerBinding(fn);
      const inputs: [string, RpcBindingInfo][] = [];
      for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
        if (name !== trigger.name && binding.direction === 'in') inputs.push([name, binding]);
      }
      const ret = fn.metadata.bindings.$return;
      plan = {
        triggerName: trigger.name,
        inputs,
        returnBinding: ret && String(ret.type).toLowerCase() !== 'http' ? ret : undefined,
      };
      this.#plans.set(fn, plan);
    }
    return plan;
  }

  async #run(
    fn: RegisteredFunction,
    request: InvocationRequest,
    invocationId: string,
  ): Promise<RpcInvocationResponse> {
    const model = this.core.getProgrammingModel();
    if (!model) {
      throw new TidemarkError(
        'Internal',
        'No programming model is registered; the app did not load @azure/functions.',
      );
    }
    const plan = this.#planFor(fn);
    const bindingCtx: BindingContext = {
      functionName: fn.metadata.name,
      invocationId,
      bindingData: request.bindingData ?? {},
      services: this.#requireServices(),
    };
    const inputData: RpcParameterBinding[] = [{ name: plan.triggerName, data: request.triggerData }];
    for (const [name, binding] of plan.inputs) {
      const provider = this.#provider(binding, name, fn);
      if (!provider.resolveInput)
        throw new TidemarkError('InvalidConfig', `"${binding.type}" cannot be an input binding.`);
      inputData.push({ name, data: await provider.resolveInput(binding, bindingCtx) });
    }

    const logger = this.logger;
    const functionName = fn.metadata.name;
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: fn.id,
        inputData,
        triggerMetadata: request.triggerMetadata ?? {},
        retryContext: request.retryContext,
      },
      metadata: fn.metadata,
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => {
        const method = LEVELS[level];
        if (method) logger[method](message, { function: functionName, invocationId, category });
      },
    };
    const invocationModel = model.getInvocationModel(coreCtx);
    const { context, inputs: initialInputs } = await invocationModel.getArguments();

    const hookData: Record<string, unknown> = {};
    const pre = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs: initialInputs,
      functionCallback: fn.callback,
    };
    coreCtx.state = 'preInvocationHooks';
    try {
      for (const hook of this.core.hooks.preInvocation) await hook(pre);
    } finally {
      coreCtx.state = undefined;
    }

    let result: unknown;
    let error: unknown;
    try {
      result = await this.#withTimeout(
        invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback),
        fn,
      );
    } catch (err) {
      error = err;
    }

    const post = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    coreCtx.state = 'postInvocationHooks';
    try {
      for (const hook of this.core.hooks.postInvocation) await hook(post);
    } finally {
      coreCtx.state = undefined;
    }
    if (post.error !== undefined && post.error !== null) throw post.error;

    const response = await invocationModel.getResponse(context, post.result);
    if (response.outputData?.length || (plan.returnBinding && response.returnValue)) {
      await this.#writeOutputs(fn, plan, response, bindingCtx);
    }
    return response;
  }

  async #writeOutputs(
    fn: RegisteredFunction,
    plan: FunctionPlan,
    response: RpcInvocationResponse,
    ctx: BindingContext,
  ): Promise<void> {
    const writes: [string, RpcBindingInfo, RpcTypedData][] = [];
    for (const item of response.outputData ?? []) {
      const binding = item.name ? fn.metadata.bindings[item.name] : undefined;
      if (binding && item.data) writes.push([item.name as string, binding, item.data]);
    }
    if (plan.returnBinding && response.returnValue) {
      writes.push(['$return', plan.returnBinding, response.returnValue]);
    }
    for (const [name, binding, data] of writes) {
      const provider = this.#provider(binding, name, fn);
      if (!provider.writeOutput)
        throw new TidemarkError('InvalidConfig', `"${binding.type}" cannot be an output binding.`);
      await provider.writeOutput(binding, data, ctx);
    }
  }

  #provider(binding: RpcBindingInfo, name: string, fn: RegisteredFunction): BindingProvider {
    const provider = this.#bindings.get(String(binding.type).toLowerCase());
    if (!provider) {
      throw new TidemarkError(
        'InvalidConfig',
        `Function "${fn.metadata.name}" uses a "${binding.type}" binding ("${name}"), which the local host does not provide.`,
      );
    }
    return provider;
  }

  #withTimeout<T>(promise: Promise<T>, fn: RegisteredFunction): Promise<T> {
    const limit = this.functionTimeoutMs;
    if (!limit || limit <= 0) return promise;
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimer(limit, () =>
        reject(
          new TidemarkError(
            'Timeout',
            `Function "${fn.metadata.name}" exceeded functionTimeout (${limit} ms).`,
            {
              hint: 'Raise functionTimeout in host.json or make the function finish sooner.',
            },
          ),
        ),
      );
      promise.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (e: unknown) => {
          timer.cancel();
          reject(e instanceof Error ? e : ensureError(e));
        },
      );
    });
  }

  #requireServices(): HostServices {
    if (!this.#services)
      throw new TidemarkError('Internal', 'Invoker used before the host attached its services.');
    return this.#services;
  }
}
