/**
 * Older `to_task` plugins (to-task.md §11): the entrypoint exports a plain class with the two
 * converter methods, constructed with the runtime context. It runs as the converter of a stock
 * ToTaskAction. Reached through `adaptLegacyConverter` (legacy-converter.ts), which the SDK's
 * runners give the plugin framework, so the framework itself never imports ToTask.
 */
import { ToTaskAction } from './action.ts';
import type { ToTaskConverter } from './converter.ts';
import type { LegacyConverterClass } from './legacy-converter.ts';

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
