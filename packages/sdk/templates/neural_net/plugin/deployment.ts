/**
 * `deployment`, a job: serves `Predictor` on the platform's agent, behind its capacity gate, with
 * the resources of the params.
 */
import { BaseDeploymentAction, z } from 'synapse-sdk';
import { Predictor } from './serve.ts';

const Params = z.object({
  num_cpus: z.number().positive().default(1).describe('CPUs per replica'),
  num_gpus: z.number().min(0).default(0).describe('GPUs per replica'),
  num_replicas: z.int().min(1).default(1).describe('Replicas serving requests'),
});

export class Deploy extends BaseDeploymentAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override entrypoint = Predictor;
}
