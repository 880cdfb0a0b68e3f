/**
 * Post-annotation (plugins.md §14): the plugin's `postAnnotate(data, assignmentId, extra)` returns
 * the annotation data to keep in place of what an annotator submitted.
 *
 * The platform calls it as the action `post_annotate` (a task) with the submitted data; the answer
 * is the data it stores. The local platform has no submit hook to call it from, so the action
 * can also be pointed at a task (`task`): it reads the task's data, post-annotates it and writes
 * the result back (`PUT tasks/<id>/annotate_task_data/`), which is how a plugin is run over data
 * already on the platform.
 */
import { isObject } from 'synapse-core';
import { z } from 'zod';
import { BaseAction } from '../../plugins/action.ts';
import type { PluginCategory } from '../../plugins/enums.ts';

export const postAnnotationParamsSchema = z
  .object({
    data: z.record(z.string(), z.unknown()).optional().describe('The submitted annotation data'),
    assignment_id: z.number().int().positive().nullish().describe('The assignment it was submitted for'),
    task: z.number().int().positive().optional().describe('A task whose data is post-annotated in place'),
    extra: z.record(z.string(), z.unknown()).default({}).describe('Anything more the plugin reads'),
  })
  .refine((p) => (p.data === undefined) !== (p.task === undefined), {
    message: 'Give either data (the annotation to post-annotate) or task (a task to rewrite), not both',
    path: ['data'],
  });

export type PostAnnotationParams = z.infer<typeof postAnnotationParamsSchema>;

type Data = Record<string, unknown>;

export class PostAnnotationAction<P extends PostAnnotationParams = PostAnnotationParams> extends BaseAction<
  P,
  Data
> {
  static override actionName = 'post_annotate';
  static override category: PluginCategory = 'post_annotation';
  static override paramsSchema: z.ZodType = postAnnotationParamsSchema;

  /** The annotation data to keep. Override it; the default keeps `data` as it is. */
  postAnnotate(data: Data, _assignmentId: number | null, _extra: Data): Data | Promise<Data> {
    return data;
  }

  override async execute(): Promise<Data> {
    const { data, task, assignment_id: assignmentId = null, extra } = this.params;
    if (data !== undefined) return this.#checked(await this.postAnnotate(data, assignmentId, extra));
    const record = await this.client.getTask(task as number);
    const current = isObject(record.data) ? record.data : {};
    const result = this.#checked(await this.postAnnotate(current, assignmentId, extra));
    await this.client.annotateTaskData(task as number, { action: 'submit', data: result });
    return result;
  }

  #checked(result: unknown): Data {
    if (!isObject(result)) {
      throw new TypeError(`postAnnotate() must return the annotation data (an object), got ${typeof result}`);
    }
    return result;
  }
}
