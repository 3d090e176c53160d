import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto } from '@bufbuild/protobuf/wkt';
import type { AnyDefinition, EnumTypeDefinition, MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader';

/**
 * proto-loader describes files through protobufjs, which writes two things unlike
 * protoc, and strict readers (Go's protodesc, hence `buf curl`) then reject the whole
 * file ("failed to find service"): a map field's entry message is named after the
 * field ("Labels") instead of "LabelsEntry", and reserved ranges end inclusively
 * ([1, 1] for `reserved 1`) where descriptors end exclusively ([1, 2]).
 */
function repair(message: DescriptorProto): void {
  for (const nested of message.nestedType) {
    if (nested.options?.mapEntry && !nested.name.endsWith('Entry')) {
      const oldName = nested.name;
      nested.name = `${oldName}Entry`;
      for (const field of message.field) {
        if (field.typeName === oldName || field.typeName.endsWith(`.${message.name}.${oldName}`)) {
          field.typeName = `${field.typeName.slice(0, -oldName.length)}${nested.name}`;
        }
      }
    }
    repair(nested);
  }
  for (const range of message.reservedRange) range.end += 1;
}

export function isTypeDefinition(entry: AnyDefinition): entry is MessageTypeDefinition<object, object> | EnumTypeDefinition {
  return 'format' in entry && Array.isArray(entry.fileDescriptorProtos);
}

function repairedFile(bytes: Uint8Array): Buffer {
  const file = fromBinary(FileDescriptorProtoSchema, bytes);
  for (const message of file.messageType) repair(message);
  return Buffer.from(toBinary(FileDescriptorProtoSchema, file));
}

/** The same definition, with file descriptors reflection clients accept. */
export function repairedForReflection(definition: PackageDefinition): PackageDefinition {
  const repaired = new Map<Buffer, Buffer>();
  const fix = (bytes: Buffer): Buffer => {
    let fixed = repaired.get(bytes);
    if (!fixed) {
      fixed = repairedFile(bytes);
      repaired.set(bytes, fixed);
    }
    return fixed;
  };
  const result: PackageDefinition = {};
  for (const [name, entry] of Object.entries(definition)) {
    // Message and enum types carry the files; a service is a record of methods, passed on as it is.
    result[name] = isTypeDefinition(entry) ? { ...entry, fileDescriptorProtos: entry.fileDescriptorProtos.map(fix) } : entry;
  }
  return result;
}
