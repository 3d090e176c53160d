import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from './log';
import { encodeRecord, scanRecords } from './record';

export const LOG_FILE_NAME = 'entries.log';

export interface OpenOptions {
  /** Told about recoverable damage, such as a torn tail left by a crash. */
  onWarning?: (message: string) => void;
}

export interface OpenedLog {
  log: FileLog;
  /** Every durable entry, oldest first: entries[i] has index i + 1. */
  entries: Uint8Array[];
}

interface PendingAppend {
  record: Buffer;
  durable: () => void;
  failed: (error: Error) => void;
}

/**
 * A single-node durable log in one append-only file. Appends made in the same
 * event-loop turn share one write and one fdatasync; each append's promise
 * resolves only once its entry is on disk. Indexes start at 1.
 */
export class FileLog implements Log {
  private batch: PendingAppend[] = [];
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private size: number,
    private nextIndex: number,
  ) {}

  /**
   * Opens (creating if needed) the log in `dir` and replays it. A damaged tail
   * is a write a crash cut short, never acknowledged: it is cut off with a
   * warning. Damage followed by valid records would lose acknowledged entries,
   * so opening fails instead.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<OpenedLog> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, LOG_FILE_NAME);
    const handle = await openOrCreate(dir, path);
    try {
      const data = await handle.readFile();
      const scan = scanRecords(data);
      if (scan.validRecordAfterDamage !== undefined) {
        throw new Error(
          `${path}: the record at byte offset ${scan.validLength} is damaged, but a valid record follows at offset ${scan.validRecordAfterDamage}; ` +
            'refusing to open, as cutting the file there would lose acknowledged entries. Restore this manager’s data from another manager or a backup.',
        );
      }
      if (scan.validLength < data.length) {
        options.onWarning?.(
          `${path}: cut off ${data.length - scan.validLength} damaged byte(s) at offset ${scan.validLength}, an append a crash interrupted before it was acknowledged`,
        );
        await handle.truncate(scan.validLength);
        await handle.datasync();
      }
      return { log: new FileLog(path, handle, scan.validLength, scan.entries.length + 1), entries: scan.entries };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  append(entry: Uint8Array): Promise<number> {
    if (this.closing) return Promise.reject(new Error(`${this.path}: append after close`));
    if (this.failure) return Promise.reject(this.failure);
    const index = this.nextIndex++;
    return new Promise<number>((resolve, reject) => {
      this.batch.push({ record: encodeRecord(entry), durable: () => resolve(index), failed: reject });
      this.draining ??= new Promise<void>((turnEnded) => setImmediate(turnEnded)).then(() => this.drain());
    });
  }

  /** Waits for appends already made to become durable, then closes the file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.draining;
      await this.handle.close();
    })();
    return this.closing;
  }

  /** Writes batches until none is left; appends made meanwhile form the next batch. */
  private async drain(): Promise<void> {
    while (this.batch.length > 0) {
      const batch = this.batch;
      this.batch = [];
      try {
        await this.writeDurably(Buffer.concat(batch.map((pending) => pending.record)));
      } catch (cause) {
        // The file's end is now unknown: refuse every later append rather than guess.
        this.failure = new Error(`${this.path}: write failed, the log accepts no more appends: ${String(cause)}`, { cause });
        for (const pending of [...batch, ...this.batch]) pending.failed(this.failure);
        this.batch = [];
        break;
      }
      for (const pending of batch) pending.durable();
    }
    this.draining = undefined;
  }

  private async writeDurably(data: Buffer): Promise<void> {
    for (let written = 0; written < data.length; ) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, this.size + written);
      written += bytesWritten;
    }
    await this.handle.datasync();
    this.size += data.length;
  }
}

/** A new file's directory entry is synced too, or a crash could lose the whole file. */
async function openOrCreate(dir: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const handle = await open(path, 'wx+');
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return handle;
}
