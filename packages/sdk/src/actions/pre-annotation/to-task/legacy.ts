/**
 * Older `to_task` plugins (to-task.md §11): the entrypoint exports a plain class with the two
 * converter methods, constructed with the runtime context. It runs as the converter of a stock
 * ToTaskAction.
 */
import { isActionClass } from '../../../plugins/action.ts';
import type { RuntimeContext } from '../../../plugins/context.ts';
import { ToTaskAction } from './action.ts';
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

/**
 * A stock ToTaskAction whose converter methods are those of one `Converter`, made with the run's
 * context: a converter given at construction still comes first (§11 resolution order).
 */
export function legacyToTaskAction(Converter: LegacyConverterClass): typeof ToTaskAction {
  return class LegacyToTaskAction extends ToTaskAction {
    #legacy: ToTaskConverter | undefined;

    #converter(): ToTaskConverter {
      this.#legacy ??= new Converter(this.ctx);
      this.#legacy.context = this.context ?? undefined;
      return this.#legacy;
    }

    override convertDataFromFile(...args: Parameters<ToTaskConverter['convertDataFromFile']>) {
      return this.#converter().convertDataFromFile(...args);
    }

    override convertDataFromInference(data: unknown, task: object) {
      return this.#converter().convertDataFromInference(data, task);
    }
  };
}
