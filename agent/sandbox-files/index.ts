export { sandboxFiles, type SandboxFiles } from './render';
export { ETC_NETNS_DIR, SANDBOX_FILES_LEDGER, SandboxFileWriter } from './writer';
