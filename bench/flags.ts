/**
 * `--name N` pairs read into numbers over `defaults`; the flag names are the keys. Anything else
 * (an unknown flag, a missing or non-numeric value) throws an error that lists the flags there are.
 */
export function numberFlags<T extends Record<string, number>>(bench: string, args: readonly string[], defaults: T): T {
  const values: Record<string, number> = { ...defaults };
  const usage = Object.entries(defaults).map(([name, value]) => `--${name} N (default ${value})`).join(', ');
  for (let i = 0; i < args.length; i += 2) {
    const name = (args[i] ?? '').replace(/^--/, '');
    const value = Number(args[i + 1]);
    if (!args[i]?.startsWith('--') || !(name in defaults) || args[i + 1] === undefined || !Number.isFinite(value) || value < 0) {
      throw new Error(`${bench} bench: bad argument "${args.slice(i, i + 2).join(' ')}"; use ${usage}`);
    }
    values[name] = value;
  }
  return values as T;
}
