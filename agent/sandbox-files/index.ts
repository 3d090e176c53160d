export { sandboxFiles, type SandboxFiles } from './render';
export { ETC_NETNS_DIR, SandboxFileWriter } from './writer';
