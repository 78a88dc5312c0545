import {
  ManagedChild as BaseChild,
  ManagedChildOptions,
} from '@keeper/test-support';
import { onCleanup } from './cleanup';

/** A child process whose output is kept (the last lines) for error reports, stopped on cleanup. */
export class ManagedChild extends BaseChild {
  private readonly unregister: () => void;

  constructor(
    name: string,
    command: string,
    args: string[],
    options: ManagedChildOptions = {},
  ) {
    super(name, command, args, {
      ...options,
      keepLines: options.keepLines ?? 80,
    });
    this.unregister = onCleanup(`stop ${name}`, () => this.stop());
  }

  override stop(graceMs?: number): Promise<void> {
    this.unregister();
    return super.stop(graceMs);
  }
}
