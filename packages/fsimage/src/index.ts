export { main as cliMain } from './cli.js';
export { type CpioOptions, writeCpio } from './cpio.js';
export { type ErofsOptions, type ErofsResult, writeErofs } from './erofs.js';
export { FsImageError } from './errors.js';
export { type FromDirectoryOptions, readXattrs, treeFromDirectory } from './fromdir.js';
export { lz4CompressDestSize } from './lz4.js';
export type { ContentSource, FsEntry, FsEntryType, FsTree } from './types.js';
