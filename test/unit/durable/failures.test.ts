import { describe, expect, it } from 'vitest';

import {
  activityFailure,
  parseFailureDetailsJson,
  splitOrchestratorError,
} from '../../../host/durable/failures';
import { hasNextAttempt, retryDelayMs } from '../../../host/durable/retry';

describe('failure shapes', () => {
  it('builds the legacy Reason/Details of a failed activity', () => {
    const err = new Error('boom');
    const f = activityFailure('act', err);
    expect(f.Reason).toBe("Activity function 'act' failed: boom");
    expect(JSON.parse(f.Details)).toMatchObject({ Message: expect.stringContaining('Exception: boom') });
    expect(f.FailureDetails).toBeUndefined();
  });

  it('recognises the FailureDetails JSON of an exception properties provider', () => {
    const message = JSON.stringify({
      errorType: 'TypeError',
      errorMessage: 'bad input',
      isNonRetriable: false,
      properties: { code: 7 },
      stackTrace: 'TypeError: bad input\n    at x',
    });
    const f = activityFailure('act', new Error(message));
    expect(f.FailureDetails).toEqual({
      ErrorType: 'TypeError',
      ErrorMessage: 'bad input',
      StackTrace: 'TypeError: bad input\n    at x',
      IsNonRetriable: false,
      Properties: { code: 7 },
    });
    expect(parseFailureDetailsJson('{"a":1}')).toBeUndefined();
    expect(parseFailureDetailsJson('not json')).toBeUndefined();
  });

  it("splits the orchestrator's thrown error at $OutOfProcData$", () => {
    const state = { isDone: false, actions: [[]], error: 'boom' };
    const { message, stateJson } = splitOrchestratorError(
      `false\n\n$OutOfProcData$:${JSON.stringify(state)}`,
    );
    expect(message).toBe('false');
    expect(JSON.parse(stateJson as string)).toEqual(state);
    expect(splitOrchestratorError('plain').stateJson).toBeUndefined();
  });
});

describe('retry delays', () => {
  it('grows by the back-off coefficient and stops at the cap', () => {
    const p = {
      firstRetryIntervalInMilliseconds: 100,
      maxNumberOfAttempts: 5,
      backoffCoefficient: 2,
      maxRetryIntervalInMilliseconds: 300,
    };
    expect([1, 2, 3, 4].map((a) => retryDelayMs(p, a))).toEqual([100, 200, 300, 300]);
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 50, maxNumberOfAttempts: 3 }, 3)).toBe(50);
    expect(hasNextAttempt(p, 4)).toBe(true);
    expect(hasNextAttempt(p, 5)).toBe(false);
  });
});
