/**
 * `c2w browser MODULE DIR` / `c2w browser --serve MODULE|DIR`: the browser page for a converted
 * module. The command lives in @c2w/runtime-browser (browserCommand); this only dispatches.
 */
export { BROWSER_USAGE, browserCommand as mainBrowser } from '@c2w/runtime-browser';
