import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';

/** Where a published registry lives, parsed from its URL. */
export type RegistryLocation =
  | { kind: 's3'; url: string; bucket: string; key: string }
  | { kind: 'azure-blob'; url: string; accountUrl: string; container: string; blob: string }
  | { kind: 'gcs'; url: string; bucket: string; object: string }
  | { kind: 'file'; url: string; path: string };

/** Host names of Azure Blob Storage accounts (public cloud). */
const AZURE_BLOB_HOST = /^[a-z0-9]{3,24}\.blob\.core\.windows\.net$/;

/**
 * Parses a registry URL: `s3://bucket/key`, `https://<account>.blob.core.windows.net/<container>/<blob>`,
 * `gs://bucket/object` or `file:///path`. `http://127.0.0.1:<port>/<account>/<container>/<blob>`
 * (loopback only) is Azurite's path-style form of a blob URL, for local runs and tests.
 */
export function parseRegistryUrl(url: string): RegistryLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `registry URL "${url}" is not a URL (expected s3://, gs://, https://<account>.blob.core.windows.net/ or file://)`,
    );
  }
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const refuse = (why: string) => new ConfigError(`registry URL "${url}": ${why}`);
  switch (parsed.protocol) {
    case 's3:':
      if (parsed.hostname === '' || path === '') throw refuse('expected s3://<bucket>/<key>');
      return { kind: 's3', url, bucket: parsed.hostname, key: path };
    case 'gs:':
      if (parsed.hostname === '' || path === '') throw refuse('expected gs://<bucket>/<object>');
      return { kind: 'gcs', url, bucket: parsed.hostname, object: path };
    case 'file:':
      return { kind: 'file', url, path: fileURLToPath(parsed) };
    case 'https:':
    case 'http:':
      return azureBlob(parsed, url, refuse);
    default:
      throw refuse(
        `unsupported scheme ${parsed.protocol} (expected s3://, gs://, https://<account>.blob.core.windows.net/ or file://)`,
      );
  }
}

function azureBlob(parsed: URL, url: string, refuse: (why: string) => ConfigError): RegistryLocation {
  const segments = parsed.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === '[::1]';
  if (parsed.protocol === 'https:' && AZURE_BLOB_HOST.test(parsed.hostname)) {
    const [container, ...blob] = segments;
    if (container === undefined || blob.length === 0) {
      throw refuse('expected https://<account>.blob.core.windows.net/<container>/<blob>');
    }
    return { kind: 'azure-blob', url, accountUrl: parsed.origin, container, blob: blob.join('/') };
  }
  if (loopback) {
    const [account, container, ...blob] = segments;
    if (account === undefined || container === undefined || blob.length === 0) {
      throw refuse('expected http://127.0.0.1:<port>/<account>/<container>/<blob> (Azurite)');
    }
    return {
      kind: 'azure-blob',
      url,
      accountUrl: `${parsed.origin}/${account}`,
      container,
      blob: blob.join('/'),
    };
  }
  throw refuse(
    'an https:// registry URL must be an Azure Blob Storage URL (https://<account>.blob.core.windows.net/<container>/<blob>)',
  );
}
