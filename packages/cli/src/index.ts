export { defaultRegistry } from './backends.js';
export { type ConvertOptions, type ConvertResult, convert, targetPlatform } from './convert.js';
export { CliError, EXIT, UsageError } from './errors.js';
export { main, USAGE, VERSION } from './main.js';
