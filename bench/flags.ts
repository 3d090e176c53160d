/**
 * `--name N` pairs read into numbers over `defaults`; the flag names are the keys. A flag whose
 * default is a list takes a comma-separated list (`--sandboxes 10,1000`). Anything else (an
 * unknown flag, a missing, empty or non-numeric value) throws an error that lists the flags there are.
 */
export function numberFlags<T extends Record<string, number | readonly number[]>>(bench: string, args: readonly string[], defaults: T): T {
  const values: Record<string, number | readonly number[]> = { ...defaults };
  const usage = Object.entries(defaults)
    .map(([name, value]) => (typeof value === 'number' ? `--${name} N (default ${value})` : `--${name} N,N,… (default ${value.join(',')})`))
    .join(', ');
  for (let i = 0; i < args.length; i += 2) {
    const name = (args[i] ?? '').replace(/^--/, '');
    const isList = Array.isArray(defaults[name]);
    const text = args[i + 1] ?? '';
    const numbers = (isList ? text.split(',') : [text]).map((item) => (item.trim() === '' ? NaN : Number(item)));
    if (!args[i]?.startsWith('--') || !(name in defaults) || args[i + 1] === undefined || !numbers.every((value) => Number.isFinite(value) && value >= 0)) {
      throw new Error(`${bench} bench: bad argument "${args.slice(i, i + 2).join(' ')}"; use ${usage}`);
    }
    values[name] = isList ? numbers : (numbers[0] ?? NaN);
  }
  return values as T;
}
