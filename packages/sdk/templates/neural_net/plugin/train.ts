import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  epochs: z.number().int().min(1).default(10).describe('Passes over the dataset'),
  learning_rate: z.number().positive().max(1).default(0.001).describe('Optimizer step size'),
});

/** Replace the loop body with your framework's training step. */
export class TrainAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override progressCategories = {
    dataset: { proportion: 10 },
    train: { proportion: 80 },
    model_upload: { proportion: 10 },
  };

  override async execute() {
    this.setProgress(1, 1, 'dataset');
    let loss = 1;
    for (let epoch = 1; epoch <= this.params.epochs; epoch++) {
      loss = Math.round((1 / epoch) * 1000) / 1000;
      this.setProgress(epoch, this.params.epochs, 'train');
      this.setMetrics({ epoch, loss }, 'train');
    }
    this.setProgress(1, 1, 'model_upload');
    return { epochs: this.params.epochs, final_loss: loss };
  }
}
