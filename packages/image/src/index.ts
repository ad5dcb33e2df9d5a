export { RootfsBuilder } from './apply.js';
export { type Compression, decompress, detectCompression } from './decompress.js';
export { ImageError } from './errors.js';
export {
  applyLayerStream,
  type FlattenOptions,
  type FlattenResult,
  flattenImage,
} from './flatten.js';
export { devMajor, devMinor, type FromDirectoryOptions, treeFromDirectory } from './fromdir.js';
export {
  type BlobStore,
  type Image,
  type ImageIndex,
  imageFromManifest,
  type Layer,
  resolveInStore,
  selectPlatform,
} from './image.js';
export {
  type Descriptor,
  type ImageConfigFile,
  MEDIA,
  parseImageConfig,
  parseManifestOrIndex,
} from './manifest.js';
export {
  DEFAULT_PLATFORM,
  formatPlatform,
  type Platform,
  parsePlatform,
  unameMachine,
} from './platform.js';
export { type Progress, type ProgressTask, TtyProgress } from './progress.js';
export {
  formatRegistryRef,
  parseRegistryRef,
  parseSourceRef,
  type RegistryRef,
  type SourceRef,
} from './ref.js';
export { type Credentials, platformOf, type ResolveOptions, resolveImage } from './resolve.js';
export { DEFAULT_PATH, type RunConfig, runConfigFromImageConfig } from './runconfig.js';
export { credentialsFromDockerConfig, dockerConfigPath, parseChallenge } from './sources/auth.js';
export { parseDockerArchiveRef, resolveDockerArchive } from './sources/docker-archive.js';
export { dockerSocketPath, resolveDockerDaemon } from './sources/docker-daemon.js';
export { OciLayoutStore, parseOciLayoutRef, resolveOciLayout } from './sources/oci-layout.js';
export {
  defaultCacheDir,
  isLoopback,
  RegistryClient,
  type RegistryOptions,
  resolveRegistry,
} from './sources/registry.js';
export { ContentSpool } from './spool.js';
export {
  DEFAULT_TAR_LIMITS,
  parsePax,
  readTar,
  type TarEntry,
  type TarHeader,
  type TarLimits,
} from './tar.js';
export {
  type EntryType,
  type FileContent,
  fileContent,
  linkCounts,
  normalizePath,
  openContent,
  type RootfsEntry,
  type RootfsTree,
} from './tree.js';
