/** NoOpLogger: keeps the state and checks the arguments like any logger, and delivers nothing. */
import { BaseLogger } from './base.ts';

export class NoOpLogger extends BaseLogger {
  protected override write(): void {}
}
