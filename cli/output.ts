import type { Node, NodeStatus } from '../proto/gen/trellis/v1/types';

/** Aligned columns with a header, like `docker network ls`. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Enums as their names, so scripts compare strings rather than numbers. */
export function nodeJson(node: Node): Record<string, unknown> {
  return { ...node, status: nodeStatusName(node.status) };
}

/** NODE_STATUS_READY and its kin; the generated messages are loaded only by the commands that show a node. */
export function nodeStatusName(status: NodeStatus): string {
  const { nodeStatusToJSON } = require('../proto/gen/trellis/v1/types') as typeof import('../proto/gen/trellis/v1/types');
  return nodeStatusToJSON(status);
}

/** One published port as docker's PORTS column shows it: 8080->80/tcp. */
export function portMapping(published: number, target: number, protocol: string): string {
  return `${published}->${target}/${protocol}`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function print(text: string): void {
  process.stdout.write(text + '\n');
}
