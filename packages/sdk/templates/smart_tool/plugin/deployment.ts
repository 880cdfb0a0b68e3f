/**
 * `deployment`, a job: serves the model (`AutoLabelModel`, the `inference` action) on the
 * platform's agent, where `auto_label` asks it.
 */
import { BaseDeploymentAction, z } from 'synapse-sdk';
import { AutoLabelModel } from './serve.ts';

const Params = z.object({
  num_cpus: z.number().positive().default(1).describe('CPUs per replica'),
  num_replicas: z.int().min(1).default(1).describe('Replicas serving requests'),
});

export class Deploy extends BaseDeploymentAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override entrypoint = AutoLabelModel;
}
