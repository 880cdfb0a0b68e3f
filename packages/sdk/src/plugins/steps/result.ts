/** StepResult (plugins.md §8.1): what one step of a workflow returns. */

export interface StepResultInit {
  success?: boolean;
  data?: Record<string, unknown>;
  error?: string | null;
  /** What `rollback` needs to undo the step. */
  rollbackData?: Record<string, unknown>;
  skipped?: boolean;
  timestamp?: Date;
}

export class StepResult {
  success: boolean;
  data: Record<string, unknown>;
  error: string | null;
  rollbackData: Record<string, unknown>;
  skipped: boolean;
  timestamp: Date;

  constructor(init: StepResultInit = {}) {
    this.success = init.success ?? true;
    this.data = init.data ?? {};
    this.error = init.error ?? null;
    this.rollbackData = init.rollbackData ?? {};
    this.skipped = init.skipped ?? false;
    this.timestamp = init.timestamp ?? new Date();
  }
}
