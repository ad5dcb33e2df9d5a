export {
  decodeFooter,
  EXTERNAL_BUNDLE_GUEST_DIR,
  EXTERNAL_ROOTFS_NAME,
  encodeFooter,
  FLAG_EXTERNAL_ROOTFS,
  FOOTER_MAGIC,
  FOOTER_SIZE,
  FOOTER_VERSION,
  type Footer,
  MAX_WASM32_PAGES,
  WASM_PAGE,
} from './footer.js';
export { WasmFormatError } from './leb.js';
export {
  PackError,
  type PackOptions,
  type PackResult,
  packModule,
  type RootfsInput,
} from './pack.js';
export { type Bundle, readBundle, readFooter } from './read.js';
export {
  decodeRecords,
  encodeRecords,
  encodeRunConfig,
  type ImageRunConfig,
  type Record,
  RecordError,
  runConfigRecords,
} from './records.js';
