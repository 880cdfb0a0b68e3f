import { ToTaskAction } from 'synapse-sdk';

/**
 * The platform's ToTask action as it is: the file method downloads each task's file of
 * `target_specification_name`, checks the task-object format and submits it. Override
 * `convertDataFromFile` here to accept another annotation format.
 */
export class ToTask extends ToTaskAction {}
