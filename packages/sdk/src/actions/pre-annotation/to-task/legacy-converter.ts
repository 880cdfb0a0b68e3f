/**
 * Recognising an older `to_task` plugin's export (to-task.md §11): a plain class with the two
 * converter methods, constructed with the runtime context. Kept apart from `legacy.ts` (which
 * wraps it in a ToTaskAction) so that checking an export does not load the ToTask action.
 */
import { isActionClass } from '../../../plugins/action.ts';
import type { RuntimeContext } from '../../../plugins/context.ts';
import type { ExportAdapter } from '../../../plugins/entrypoint.ts';
import type { ToTaskConverter } from './converter.ts';

export type LegacyConverterClass = new (run: RuntimeContext) => ToTaskConverter;

/** A class, not an action, whose instances have `convertDataFromFile` and `convertDataFromInference`. */
export function isLegacyConverterClass(value: unknown): value is LegacyConverterClass {
  if (typeof value !== 'function' || isActionClass(value)) return false;
  const proto: unknown = value.prototype;
  if (typeof proto !== 'object' || proto === null) return false;
  const { convertDataFromFile, convertDataFromInference } = proto as Partial<ToTaskConverter>;
  return typeof convertDataFromFile === 'function' && typeof convertDataFromInference === 'function';
}

/** The `ExportAdapter` of ToTask: a legacy converter class runs as the converter of a stock ToTaskAction. */
export const adaptLegacyConverter: ExportAdapter = async (value) => {
  if (!isLegacyConverterClass(value)) return undefined;
  const { legacyToTaskAction } = await import('./legacy.ts');
  return legacyToTaskAction(value);
};
