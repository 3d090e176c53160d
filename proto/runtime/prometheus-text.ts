/** The value of one sample in Prometheus text format, or undefined if absent. */
export function sampleValue(text: string, name: string, labels = ''): number | undefined {
  const series = labels ? `${name}{${labels}}` : name;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
