export type { Log } from './log';
export { FileLog, LOG_FILE_NAME, type OpenedLog, type OpenOptions } from './file-log';
