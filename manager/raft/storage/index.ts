export { DiskStorage, type DiskStorageOptions } from './disk-storage';
