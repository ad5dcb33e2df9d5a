/** Image references as Docker spells them, and source prefixes. */
import { ImageError } from './errors.js';
import { checkDigest } from './manifest.js';

export interface RegistryRef {
  /** Registry host as written, e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path, e.g. `library/alpine`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

export function parseRegistryRef(input: string): RegistryRef {
  const s = input.trim();
  const bad = (why: string): never => {
    throw new ImageError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  };
  if (s === '' || s.length > 4096) bad('empty or too long');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = checkDigest(rest.slice(at + 1), `image reference ${JSON.stringify(input)}`);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`bad tag ${JSON.stringify(tag)}`);
  }
  const slash = rest.indexOf('/');
  let domain = 'docker.io';
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) bad(`bad registry host ${JSON.stringify(domain)}`);
    }
  }
  if (domain === 'index.docker.io' || domain === 'registry-1.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  for (const c of path.split('/'))
    if (!COMPONENT.test(c)) bad(`bad repository name component ${JSON.stringify(c)}`);
  if (path.length > 255) bad('repository name too long');
  const r: RegistryRef = { domain, repository: path };
  if (tag) r.tag = tag;
  if (digest) r.digest = digest;
  if (!tag && !digest) r.tag = 'latest';
  return r;
}

export function formatRegistryRef(r: RegistryRef): string {
  return `${r.domain}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export type SourceRef =
  | { kind: 'registry'; ref: RegistryRef }
  | { kind: 'oci'; spec: string }
  | { kind: 'docker-archive'; spec: string }
  | { kind: 'docker-daemon'; spec: string };

/** Splits a user reference into its source kind: `oci:`, `docker-archive:`, `docker-daemon:`, `docker://` or plain. */
export function parseSourceRef(input: string): SourceRef {
  if (input.startsWith('oci:')) return { kind: 'oci', spec: input.slice(4) };
  if (input.startsWith('oci-layout:')) return { kind: 'oci', spec: input.slice(11) };
  if (input.startsWith('docker-archive:')) return { kind: 'docker-archive', spec: input.slice(15) };
  if (input.startsWith('docker-daemon:')) return { kind: 'docker-daemon', spec: input.slice(14) };
  if (input.startsWith('docker://'))
    return { kind: 'registry', ref: parseRegistryRef(input.slice(9)) };
  return { kind: 'registry', ref: parseRegistryRef(input) };
}
