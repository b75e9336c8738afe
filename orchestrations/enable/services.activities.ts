/** The storage clients enable-replication's activities use: the forward direction's workflow services. */
import type { Direction } from '../../shared/direction';
import { type WorkflowServices, workflowServices } from '../../shared/workflows/services';

export type EnableServices = WorkflowServices;

/** Forward for enable replication; reprotect runs the same activities in the reverse direction. */
export function enableServices(direction: Direction = 'forward'): EnableServices {
  return workflowServices(direction);
}
