/**
 * `deployment`: serves `ObjectDetector` (CPU only). The resources come from the params, so the
 * capacity gate asks the agent for exactly what the replicas will take.
 */
import { BaseDeploymentAction, z } from 'synapse-sdk';
import { ObjectDetector } from './serve.ts';

const Params = z.object({
  num_cpus: z.number().positive().default(1).describe('CPUs per replica'),
  num_gpus: z.number().min(0).default(0).describe('GPUs per replica (the detector runs on the CPU)'),
  memory: z.int().positive().optional().describe('Memory per replica, in bytes'),
  num_replicas: z.int().min(1).default(1).describe('Replicas serving requests'),
});

export class Deploy extends BaseDeploymentAction<z.infer<typeof Params>> {
  static override actionName = 'deployment';
  static override paramsSchema = Params;
  static override entrypoint = ObjectDetector;
}
