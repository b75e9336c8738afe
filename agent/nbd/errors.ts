import { TidemarkError, isTidemarkError } from '../../shared/errors';

/**
 * The two ways a connection ends early: the peer went away, or it broke the protocol so badly that
 * the spec lets us hang up (bad magic, unknown client flags, a payload we refuse to buffer).
 */

type NbdFailure = 'closed' | 'violation';

export function connectionClosed(detail = 'the client closed the connection'): TidemarkError {
  return new TidemarkError('InvalidRequest', detail, { details: { nbd: 'closed' satisfies NbdFailure } });
}

export function protocolViolation(message: string, details: Record<string, unknown> = {}): TidemarkError {
  return new TidemarkError('InvalidRequest', message, {
    details: { nbd: 'violation' satisfies NbdFailure, ...details },
  });
}

export function isConnectionClosed(error: unknown): boolean {
  return isTidemarkError(error, 'InvalidRequest') && error.details?.nbd === 'closed';
}

export function isProtocolViolation(error: unknown): error is TidemarkError {
  return isTidemarkError(error, 'InvalidRequest') && error.details?.nbd === 'violation';
}
