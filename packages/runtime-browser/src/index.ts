// @c2w/runtime-browser: runs a c2w WASI module in a browser page (Web Worker + WASI shim +
// xterm.js/xterm-pty), and the Node side that writes or serves that page.
export { PAGE_FILES, pageAssetsDir } from './assets.js';
export {
  type BrowserConfig,
  checkWasm,
  EXTERNAL_BUNDLE_DIR,
  EXTERNAL_ROOTFS,
  type WriteBundleOptions,
  type WrittenBundle,
  withExternalRootfs,
  writeBrowserBundle,
} from './bundle.js';
export { BROWSER_USAGE, browserCommand, type CommandIO } from './command.js';
export { contentType, ISOLATION_HEADERS } from './headers.js';
export { type ServedBundle, type ServeOptions, serveBrowserBundle } from './server.js';
