import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { PackageDefinition } from '@grpc/proto-loader';
import { isTypeDefinition, repairedForReflection } from './reflection-descriptors';

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

/** The release artifact's copy of `reflectionFiles()`, base64, made when it was built (`npm run release`); absent in dist/. */
declare const TRELLIS_REFLECTION_FILES: readonly string[] | undefined;

/**
 * The file descriptors gRPC reflection serves: every Trellis service's and gRPC health's,
 * in the form strict readers accept. Read from the .proto sources beside the code, or, in
 * the release artifact, which has no files beside it, from the copy built into it.
 */
export function reflectionFiles(): Buffer[] {
  if (typeof TRELLIS_REFLECTION_FILES !== 'undefined') return TRELLIS_REFLECTION_FILES.map((file) => Buffer.from(file, 'base64'));
  // Loaded here: only a manager serves reflection, and only from a checkout does it parse .proto files.
  const { loadSync } = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const { protoPath: healthProtoPath } = require('grpc-health-check') as typeof import('grpc-health-check');
  const healthProtoRoot = join(dirname(healthProtoPath), '..', '..');
  const loaded = loadSync([...protoFiles, relative(healthProtoRoot, healthProtoPath)], { includeDirs: [protoRoot(), healthProtoRoot] });
  const files = new Set<Buffer>();
  for (const entry of Object.values(repairedForReflection(loaded))) {
    if (isTypeDefinition(entry)) for (const file of entry.fileDescriptorProtos) files.add(file);
  }
  return [...files];
}

/** `files` as the package definition ReflectionService takes: it reads nothing but each entry's file descriptors. */
export function reflectionDefinition(files: Buffer[]): PackageDefinition {
  return { 'trellis.reflection': { format: 'Protocol Buffer 3 EnumDescriptorProto', type: {}, fileDescriptorProtos: files } };
}
