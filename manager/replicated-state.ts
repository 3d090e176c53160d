import { EventEmitter } from 'node:events';
import type { Log } from './log';
import { Store, type ApplyResult, type Command } from './store';

/**
 * The store behind a durable log: a command is applied only once the log holds
 * it, so an acknowledged write survives a crash. The Raft issue replaces the
 * single-node log with a replicated one; the store does not change.
 */
export class ReplicatedState {
  private readonly changes = new EventEmitter();
  private applyQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly store: Store,
    private readonly log: Log,
  ) {
    this.changes.setMaxListeners(0);
  }

  /** Replays every entry the log holds, then serves new proposals. */
  static recover(log: Log, entries: Iterable<Uint8Array>): ReplicatedState {
    const store = new Store();
    for (const entry of entries) store.apply(decodeCommand(entry));
    return new ReplicatedState(store, log);
  }

  /**
   * Appends the command, waits until it is durable, then applies it. Commands
   * are applied in log order even when their syncs complete together.
   */
  propose<C extends Command>(command: C): Promise<ApplyResult<C>> {
    const durable = this.log.append(encodeCommand(command));
    const applied = this.applyQueue.then(async () => {
      await durable;
      const result = this.store.apply(command);
      if (result.ok) this.changes.emit('change', this.store.revision);
      return result;
    });
    this.applyQueue = applied.catch(() => undefined);
    return applied;
  }

  /** Calls `listener` after every successful apply; returns the unsubscribe. */
  onChange(listener: (revision: number) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }
}

function encodeCommand(command: Command): Uint8Array {
  return Buffer.from(JSON.stringify(command), 'utf8');
}

function decodeCommand(entry: Uint8Array): Command {
  return JSON.parse(Buffer.from(entry).toString('utf8')) as Command;
}
