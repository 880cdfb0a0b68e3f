import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  name: z.string().min(1).describe('Who to greet'),
});

export class HelloAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override async execute() {
    this.logMessage(`Greeting ${this.params.name}`);
    return { message: `Hello, ${this.params.name}!` };
  }
}
