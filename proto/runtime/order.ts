/** Code-unit order of strings: the same on every machine and locale, so sorted lists compare deep-equal everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
