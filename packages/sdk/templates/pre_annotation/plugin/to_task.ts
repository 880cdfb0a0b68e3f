import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  name: z.string().regex(/^\S+$/, 'name must not contain whitespace'),
  tasks: z.array(z.object({ id: z.number().int(), objects: z.array(z.unknown()) })),
});

/** Submits annotation data per task; replace `tasks` with a lookup of the project's tasks. */
export class ToTaskAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  static override progressCategories = { annotate_task_data: { proportion: 100 } };

  override async execute() {
    const { tasks } = this.params;
    let success = 0;
    for (const [i, task] of tasks.entries()) {
      if (this.ctx.client)
        await this.client.annotateTaskData(task.id, { action: 'submit', data: { objects: task.objects } });
      success++;
      this.setProgress(i + 1, tasks.length, 'annotate_task_data');
      this.setMetrics(
        { total: tasks.length, success, failed: 0, stand_by: tasks.length - i - 1 },
        'annotate_task_data',
      );
    }
    return { status: 'SUCCEEDED', total_tasks: tasks.length, success_count: success, failed_count: 0 };
  }
}
