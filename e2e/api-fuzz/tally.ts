/** What a fuzz run saw: status codes per RPC, and every answer worth a look, printed as one report. */
export class Tally {
  private readonly codes = new Map<string, Map<string, number>>();
  private readonly firstMessage = new Map<string, string>();
  /** refused requests after which the store differed */
  readonly changedByRefusal: string[] = [];
  /** INTERNAL or UNKNOWN answers: a handler that threw */
  readonly internalErrors: string[] = [];
  /** requests not answered within the call's deadline */
  readonly unanswered: string[] = [];
  /** a failed health check, or the manager gone */
  readonly unhealthy: string[] = [];
  /** answered, but slowly (listed, not asserted) */
  readonly slow: string[] = [];

  count(rpc: string, code: string, message = ''): void {
    const codes = this.codes.get(rpc) ?? new Map<string, number>();
    codes.set(code, (codes.get(code) ?? 0) + 1);
    this.codes.set(rpc, codes);
    if (code !== 'OK' && !this.firstMessage.has(`${rpc} ${code}`)) this.firstMessage.set(`${rpc} ${code}`, message.slice(0, 160));
  }

  report(headline: string, slowMs: number): string {
    const byName = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => a.localeCompare(b));
    const list = (title: string, lines: string[]) => [`${title}: ${lines.length}`, ...lines.map((line) => `  ${line}`)];
    return [
      headline,
      'status codes per RPC:',
      ...byName(this.codes.entries()).map(([rpc, codes]) => `  ${rpc.padEnd(18)} ${[...codes.entries()].map(([code, n]) => `${code} ${n}`).join(', ')}`),
      'first refusal message per RPC and code:',
      ...byName(this.firstMessage.entries()).map(([key, message]) => `  ${key}: ${message}`),
      ...list(`answers slower than ${slowMs / 1000} s`, this.slow),
      ...list('unanswered requests', this.unanswered),
      ...list('INTERNAL/UNKNOWN answers', this.internalErrors),
      ...list('refused requests that changed the store', this.changedByRefusal),
      ...list('health problems', this.unhealthy),
      '',
    ].join('\n');
  }
}

/** A request as a readable line: long strings, lists and maps cut short. */
export function summary(request: unknown): string {
  const text = JSON.stringify(request, (_key, value: unknown) => {
    if (typeof value === 'string' && value.length > 40) return `${value.slice(0, 20)}…(${value.length} chars)`;
    if (Array.isArray(value) && value.length > 4) return [...value.slice(0, 2), `…(${value.length} items)`];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (entries.length > 6) return Object.fromEntries([...entries.slice(0, 3), ['…', `(${entries.length} keys)`]]);
    }
    return value;
  });
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}
