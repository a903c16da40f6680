/**
 * The results of finished tasks by idempotency key, so a task the control plane sends again
 * (after a reconnect, or to a restarted step) gets the same answer without running twice.
 * Only results are kept, never errors: a retry must run the handler again.
 */

export interface ResultCacheOptions {
  maxEntries?: number;
  /** how long a result is reused (ms) */
  ttlMs?: number;
  now?: () => number;
}

export class ResultCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ResultCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 24 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key); // re-inserted last: the oldest entry is the first to go
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
