// @blazar/storage: the node-wide log store (journal + per-group segments) implementing
// RaftStorage, and the Disk interface with its real and simulated implementations.
export type { Disk, DiskFile } from './disk.ts'
export { NodeDisk } from './node-disk.ts'
export { SimDisk, SIM_SECTOR_BYTES } from './sim-disk.ts'
export type { CrashMode, SimDiskOptions } from './sim-disk.ts'
export type { StoreSettings } from './settings.ts'
export { defaultStoreSettings } from './settings.ts'
export {
  DiskFaultError, GroupCorruptedError, GroupDeletedError, StorageAssertionError, StorageBackpressureError,
  StorageLimitError, StoreClosedError, StoreCorruptedError
} from './errors.ts'
export { LogStore } from './store.ts'
export type { LogStoreOptions, StoreStats } from './store.ts'
