/** The activity that gives a claimed protected item back when its job fails (claimedJob.ts). */
import * as df from 'durable-functions';

import { abandonItem } from '../shared/jobs/claims';
import { activityOutcome } from '../shared/jobs/activityOutcome';
import { workflowServices } from '../shared/workflows/services';
import { CLAIM_ACTIVITIES, type ClaimedRef } from './claimedJob';

df.app.activity(CLAIM_ACTIVITIES.abandon, {
  handler: (input: unknown) =>
    activityOutcome(async () => {
      const ref = input as ClaimedRef;
      const item = await abandonItem(workflowServices(ref.direction).items, ref, ref.jobId);
      return item?.state ?? null;
    }),
});
