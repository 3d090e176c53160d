export * from './types';
export { RawNode, createRaftNode } from './rawnode';
export { MemoryStorage } from './memory-storage';
export { encodeConfChange, decodeConfChange } from './conf-change';
export { bootstrapLog } from './bootstrap';
