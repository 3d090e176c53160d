import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The .proto sources, found at run time for gRPC reflection. Searched upwards
 * because this file runs both from source (jest) and from dist/.
 */
export function protoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'trellis', 'v1', 'control.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find proto/trellis/v1 above ' + __dirname);
    dir = parent;
  }
}

export const protoFiles = ['trellis/v1/types.proto', 'trellis/v1/control.proto', 'trellis/v1/dispatcher.proto', 'trellis/v1/raft.proto', 'trellis/v1/ca.proto'];
