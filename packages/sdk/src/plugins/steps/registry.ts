/** StepRegistry (plugins.md §8.3): the ordered steps of a workflow. */
import type { BaseStep, BaseStepContext } from './base.ts';

export class StepRegistry<C extends BaseStepContext = BaseStepContext> {
  #steps: BaseStep<C>[] = [];

  register(step: BaseStep<C>): void {
    this.#steps.push(step);
  }

  /** Removes the named step; nothing happens when there is none. */
  unregister(name: string): void {
    this.#steps = this.#steps.filter((step) => step.name !== name);
  }

  getSteps(): BaseStep<C>[] {
    return [...this.#steps];
  }

  insertAfter(name: string, step: BaseStep<C>): void {
    this.#steps.splice(this.#indexOf(name) + 1, 0, step);
  }

  insertBefore(name: string, step: BaseStep<C>): void {
    this.#steps.splice(this.#indexOf(name), 0, step);
  }

  get totalWeight(): number {
    return this.#steps.reduce((sum, step) => sum + step.progressWeight, 0);
  }

  /** Job-wide proportions of the steps that declare one. */
  getStepProportions(): Record<string, number> {
    const proportions: Record<string, number> = {};
    for (const step of this.#steps) {
      if (step.progressProportion > 0) proportions[step.name] = step.progressProportion;
    }
    return proportions;
  }

  get length(): number {
    return this.#steps.length;
  }

  hasSteps(): boolean {
    return this.#steps.length > 0;
  }

  #indexOf(name: string): number {
    const index = this.#steps.findIndex((step) => step.name === name);
    if (index < 0) throw new Error(`Step '${name}' not found`);
    return index;
  }
}
