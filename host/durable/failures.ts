/**
 * Failure shapes. Legacy (the default): TaskFailed{Reason, Details}, which the SDK surfaces as
 * `Error("<Reason> \n <Details>")`. FailureDetails: when the app registered an exception
 * properties provider the activity's error message is the JSON of a FailureDetails, which the SDK
 * surfaces as a TaskFailedError. Orchestrator failures arrive as a thrown error carrying the
 * OrchestratorState after `$OutOfProcData$:`.
 */
import type { FailureDetails } from './history';

export interface FailureFields {
  Reason: string;
  Details: string;
  FailureDetails?: FailureDetails;
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

/** The FailureDetails JSON written by durable-functions' wrapActivityHandler, if that is what `message` is. */
export function parseFailureDetailsJson(message: string): FailureDetails | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    if (typeof v.errorType !== 'string' || typeof v.errorMessage !== 'string') return undefined;
    return {
      ErrorType: v.errorType,
      ErrorMessage: v.errorMessage,
      StackTrace: typeof v.stackTrace === 'string' ? v.stackTrace : undefined,
      IsNonRetriable: v.isNonRetriable === true,
      Properties: (v.properties as Record<string, unknown> | undefined) ?? undefined,
    };
  } catch {
    return undefined;
  }
}

/** Serialised exception details in the shape of the extension's RpcException JSON. */
function details(message: string, stack: string | undefined): string {
  return JSON.stringify({
    ClassName: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException',
    Message: `Result: Failure\nException: ${message}\nStack: ${stack ?? ''}`,
    RemoteStackTrace: stack ?? null,
  });
}

export function activityFailure(name: string, error: Error | undefined): FailureFields {
  const message = error?.message ?? 'unknown error';
  const fd = parseFailureDetailsJson(message);
  if (fd) {
    return {
      Reason: `Activity function '${name}' failed: ${fd.ErrorType}: ${fd.ErrorMessage}`,
      Details: details(fd.ErrorMessage, fd.StackTrace),
      FailureDetails: fd,
    };
  }
  return {
    Reason: `Activity function '${name}' failed: ${message}`,
    Details: details(message, error?.stack),
  };
}

export function missingFunctionFailure(kind: string, name: string): FailureFields {
  const message = `The function '${name}' doesn't exist, is disabled, or is not ${kind} function.`;
  return { Reason: message, Details: details(message, undefined) };
}

/** Splits an orchestrator's thrown error into its message and its OrchestratorState JSON. */
export function splitOrchestratorError(message: string): { message: string; stateJson?: string } {
  const at = message.indexOf(OUT_OF_PROC_LABEL);
  if (at < 0) return { message };
  return { message: message.slice(0, at), stateJson: message.slice(at + OUT_OF_PROC_LABEL.length) };
}

export function orchestratorFailure(
  name: string,
  error: string,
  stack: string | undefined,
  failureDetails?: FailureDetails,
): FailureFields {
  return {
    Reason: `Orchestrator function '${name}' failed: ${error}`,
    Details: stack ?? '',
    FailureDetails: failureDetails,
  };
}
