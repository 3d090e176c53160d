import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import type { Plugin } from 'esbuild';
import { dirname, join } from 'node:path';

/**
 * A .proto file a dependency parses at run time from beside its own code (grpc-health-check
 * when it loads, @grpc/reflection when a manager serves reflection). The artifact has no files
 * beside it, so it carries their descriptors, parsed at build time with the caller's keepCase
 * (the only option that changes the descriptors: field names).
 */
interface EmbeddedProto {
  /** How the caller names the file: the end of the path it passes to loadSync. */
  suffix: string;
  path: string;
  keepCase: boolean;
}

function dependencyProtos(): EmbeddedProto[] {
  const health = (require('grpc-health-check') as typeof import('grpc-health-check')).protoPath;
  const reflection = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection');
  return [
    { suffix: 'health/v1/health.proto', path: health, keepCase: true },
    { suffix: 'grpc/reflection/v1/reflection.proto', path: join(reflection, 'v1', 'reflection.proto'), keepCase: false },
    { suffix: 'grpc/reflection/v1alpha/reflection.proto', path: join(reflection, 'v1alpha', 'reflection.proto'), keepCase: false },
  ];
}

/** Every file behind a package definition, as one FileDescriptorSet. */
function descriptorSet(definition: PackageDefinition): Uint8Array {
  const files = new Set<Buffer>();
  for (const entry of Object.values(definition)) {
    if ('fileDescriptorProtos' in entry && Array.isArray(entry.fileDescriptorProtos)) for (const file of entry.fileDescriptorProtos as Buffer[]) files.add(file);
  }
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [...files].map((file) => fromBinary(FileDescriptorProtoSchema, file)) }));
}

const SHIM = 'trellis-embedded-proto-loader';

/**
 * In the bundle, `@grpc/proto-loader` is a shim over the real one: loadSync of an embedded file
 * builds its definition from the descriptors carried in the artifact; any other file is still read
 * from disk. A caller whose keepCase differs from the build's is refused loudly, not served wrong names.
 */
export function embeddedProtoLoader(): Plugin {
  const real = require.resolve('@grpc/proto-loader');
  const table = dependencyProtos().map((proto) => ({
    suffix: proto.suffix,
    keepCase: proto.keepCase,
    set: Buffer.from(descriptorSet(loadSync(proto.path, { keepCase: proto.keepCase }))).toString('base64'),
  }));
  const contents = `
const real = require(${JSON.stringify(real)});
const embedded = ${JSON.stringify(table)};
module.exports = {
  ...real,
  loadSync(filename, options) {
    const proto = typeof filename === 'string' ? embedded.find((entry) => filename.endsWith(entry.suffix)) : undefined;
    if (!proto) return real.loadSync(filename, options);
    if (Boolean(options && options.keepCase) !== proto.keepCase) throw new Error(proto.suffix + ': embedded with keepCase ' + proto.keepCase);
    return real.loadFileDescriptorSetFromBuffer(Buffer.from(proto.set, 'base64'), options);
  },
};`;
  return {
    name: SHIM,
    setup(builder) {
      builder.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: SHIM, namespace: SHIM }));
      builder.onLoad({ filter: /.*/, namespace: SHIM }, () => ({ contents, loader: 'js', resolveDir: dirname(real) }));
    },
  };
}
