/**
 * A Map of records that reports every record it gains or loses. The store's
 * indexes and its change tracking hang off these reports, so no handler can
 * write a record and forget to update them.
 */
export class WatchedMap<R> extends Map<string, R> {
  private readonly listeners: ((record: R, present: boolean) => void)[] = [];

  /** `listener(record, true)` for every record added (now too, for those already held), `(record, false)` for every one removed or replaced. */
  watch(listener: (record: R, present: boolean) => void): void {
    this.listeners.push(listener);
    for (const record of super.values()) listener(record, true);
  }

  override set(key: string, value: R): this {
    const old = super.get(key);
    // Map's constructor calls set before this class's fields exist.
    const listeners = this.listeners ?? [];
    if (old !== undefined) for (const listener of listeners) listener(old, false);
    super.set(key, value);
    for (const listener of listeners) listener(value, true);
    return this;
  }

  override delete(key: string): boolean {
    const old = super.get(key);
    const deleted = super.delete(key);
    if (old !== undefined) for (const listener of this.listeners) listener(old, false);
    return deleted;
  }

  override clear(): void {
    for (const key of [...super.keys()]) this.delete(key);
  }
}

/** A WatchedMap of named records that also finds a record by its (unique) name without a scan. */
export class NamedMap<R extends { id: string; name: string }> extends WatchedMap<R> {
  private readonly idsByName = new Map<string, string>();

  constructor() {
    super();
    this.watch((record, present) => {
      if (present) this.idsByName.set(record.name, record.id);
      else if (this.idsByName.get(record.name) === record.id) this.idsByName.delete(record.name);
    });
  }

  byName(name: string): R | undefined {
    const id = this.idsByName.get(name);
    return id === undefined ? undefined : this.get(id);
  }
}

/** key → ids, kept in insertion order like the store's maps. */
export class ManyIndex {
  private readonly sets = new Map<string, Set<string>>();

  add(key: string, id: string): void {
    let ids = this.sets.get(key);
    if (!ids) this.sets.set(key, (ids = new Set()));
    ids.add(id);
  }

  remove(key: string, id: string): void {
    const ids = this.sets.get(key);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) this.sets.delete(key);
  }

  get(key: string): ReadonlySet<string> {
    return this.sets.get(key) ?? empty;
  }
}

const empty: ReadonlySet<string> = new Set();
