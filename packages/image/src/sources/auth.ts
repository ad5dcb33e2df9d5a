/** Registry credentials: explicit, or from Docker's config.json (auths, credHelpers, credsStore). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from '../errors.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** A registry token used as Bearer directly. */
  token?: string;
}

export function dockerConfigPath(explicit?: string): string {
  if (explicit) return explicit;
  const dir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** A registry host key as written in config.json or by users (`https://index.docker.io/v1/` -> `docker.io`). */
export function normalizeKey(k: string): string {
  let s = k.replace(/^https?:\/\//, '');
  s = s.replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') s = 'docker.io';
  return s;
}

function helperGet(helper: string, serverUrl: string): Credentials | undefined {
  if (!/^[a-zA-Z0-9_.-]+$/.test(helper))
    throw new ImageError(`docker config: bad credential helper name ${JSON.stringify(helper)}`);
  let out: string;
  try {
    out = execFileSync(`docker-credential-${helper}`, ['get'], {
      input: serverUrl,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch (e) {
    const err = e as { code?: string; stdout?: string };
    if (err.code === 'ENOENT')
      throw new ImageError(
        `docker config: credential helper docker-credential-${helper} not found`,
      );
    if (String(err.stdout ?? '').includes('credentials not found')) return undefined;
    throw new ImageError(`docker config: docker-credential-${helper} get failed for ${serverUrl}`);
  }
  const j = JSON.parse(out) as { Username?: string; Secret?: string };
  if (!j.Secret) return undefined;
  if (j.Username === '<token>') return { token: j.Secret };
  return { username: j.Username ?? '', password: j.Secret };
}

/** Looks up credentials for a registry host (as written in the reference, e.g. `docker.io`). */
export function credentialsFromDockerConfig(
  domain: string,
  configPath?: string,
): Credentials | undefined {
  const path = dockerConfigPath(configPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let cfg: {
    auths?: Record<
      string,
      {
        auth?: string;
        username?: string;
        password?: string;
        identitytoken?: string;
        registrytoken?: string;
      }
    >;
    credHelpers?: Record<string, string>;
    credsStore?: string;
  };
  try {
    cfg = JSON.parse(text);
  } catch {
    throw new ImageError(`${path}: invalid JSON`);
  }
  const want = normalizeKey(domain);
  const serverUrl = want === 'docker.io' ? 'https://index.docker.io/v1/' : want;
  for (const [k, helper] of Object.entries(cfg.credHelpers ?? {})) {
    if (normalizeKey(k) === want) return helperGet(helper, serverUrl);
  }
  for (const [k, a] of Object.entries(cfg.auths ?? {})) {
    if (normalizeKey(k) !== want) continue;
    if (a.registrytoken) return { token: a.registrytoken };
    if (a.auth) {
      const dec = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i < 0) throw new ImageError(`${path}: malformed auth for ${k}`);
      return { username: dec.slice(0, i), password: dec.slice(i + 1) };
    }
    if (a.username !== undefined) return { username: a.username, password: a.password ?? '' };
  }
  if (cfg.credsStore) return helperGet(cfg.credsStore, serverUrl);
  return undefined;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(h: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(h);
  if (!m) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let r = re.exec(m[2] ?? ''); r; r = re.exec(m[2] ?? '')) {
    params[(r[1] as string).toLowerCase()] =
      r[2] !== undefined ? r[2].replace(/\\(.)/g, '$1') : (r[3] ?? '');
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}
