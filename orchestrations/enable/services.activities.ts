/** The storage clients enable-replication's activities use: the forward direction's workflow services. */
import { type WorkflowServices, workflowServices } from '../../shared/workflows/services';

export type EnableServices = WorkflowServices;

export function enableServices(): EnableServices {
  return workflowServices('forward');
}
