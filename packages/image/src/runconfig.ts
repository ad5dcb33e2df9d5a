import type { ImageConfigFile } from './manifest.js';
import type { Platform } from './platform.js';

/** What the guest needs to start the container's process (from the image config). */
export interface RunConfig {
  entrypoint: string[];
  cmd: string[];
  /** KEY=VALUE, in image order. PATH gets a default when the image sets none. */
  env: string[];
  /** Absolute; '/' when the image sets none. */
  workingDir: string;
  /** `user[:group]` as in the image, '' for root. */
  user: string;
  /** e.g. ['80/tcp'], sorted. */
  exposedPorts: string[];
  stopSignal: string;
  labels: Record<string, string>;
  platform: Platform;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runConfigFromImageConfig(cfg: ImageConfigFile): RunConfig {
  const c = cfg.config ?? {};
  const env = [...(c.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const platform: Platform = { os: cfg.os, architecture: cfg.architecture };
  if (cfg.variant) platform.variant = cfg.variant;
  let wd = c.WorkingDir ?? '';
  if (wd === '') wd = '/';
  else if (!wd.startsWith('/')) wd = `/${wd}`;
  return {
    entrypoint: [...(c.Entrypoint ?? [])],
    cmd: [...(c.Cmd ?? [])],
    env,
    workingDir: wd,
    user: c.User ?? '',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(),
    stopSignal: c.StopSignal ?? 'SIGTERM',
    labels: { ...(c.Labels ?? {}) },
    platform,
  };
}
