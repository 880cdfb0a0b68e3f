/**
 * `ValidationAction` (plugins.md §14 "Data validation"): `validation`, a task, checks annotation
 * data and lists what is wrong with it: `{status: 'success' | 'failed', errors}`. A plugin
 * overrides `validate(data)`. A problem of the data is an entry of `errors`, and so is a check
 * that throws (the data made it fail); a `CriticalError` is not about the data but about the run
 * (the platform cannot be asked, a resource is missing) and aborts it.
 */
import { z } from 'zod';
import { BaseAction } from '../../plugins/action.ts';
import type { PluginCategory } from '../../plugins/enums.ts';
import { CriticalError } from '../pre-annotation/to-task/errors.ts';

/** The spec's message (its spelling kept: the platform matches it). */
export const VALIDATION_CRITICAL_MESSAGE = 'Critical error occured while processing validation';

export const validationParamsSchema = z.object({
  data: z.record(z.string(), z.unknown()).describe('Annotation data to check'),
});

export type ValidationParams = z.infer<typeof validationParamsSchema>;

export const validationResultSchema = z
  .object({ status: z.enum(['success', 'failed']), errors: z.array(z.string()) })
  .meta({ id: 'ValidationResult' });

export interface ValidationResult {
  status: 'success' | 'failed';
  errors: string[];
}

/** By name, so a `CriticalError` of another copy of the SDK (the plugin's own) counts too. */
function isCritical(err: unknown): boolean {
  return err instanceof Error && err.name === 'CriticalError';
}

export class ValidationAction<P extends ValidationParams = ValidationParams> extends BaseAction<
  P,
  ValidationResult
> {
  static override actionName = 'validation';
  static override category: PluginCategory = 'data_validation';
  static override paramsSchema: z.ZodType = validationParamsSchema;
  static override resultSchema = validationResultSchema;

  /** The problems of `data`, one message each; none when it is valid. Override it. */
  validate(_data: Record<string, unknown>): string[] | Promise<string[]> {
    return [];
  }

  override async execute(): Promise<ValidationResult> {
    let errors: string[];
    try {
      errors = [...(await this.validate(this.params.data))].map(String);
    } catch (err) {
      if (isCritical(err)) throw new CriticalError(VALIDATION_CRITICAL_MESSAGE, {}, { cause: err });
      errors = [`Validation failed: ${err instanceof Error ? err.message : String(err)}`];
    }
    return { status: errors.length === 0 ? 'success' : 'failed', errors };
  }
}
