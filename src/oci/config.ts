/**
 * An image config read for display and checks. Its bytes come from a registry or an archive, so every field is
 * checked for its JSON type before it is used: a field of the wrong type is shown as unknown, never trusted.
 */
import { EcrxError } from '../core/errors.js';
import { isJsonObject } from './manifest.js';
import { formatPlatform, platformOfConfig } from './platform.js';
import { checkDocumentSize, MAX_CONFIG_BYTES } from './limits.js';

export interface ConfigView {
  platform: string | null;
  created: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
  /** The whole parsed document, for --config. */
  doc: Record<string, unknown>;
}

const strings = (v: unknown): string[] | null => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : null);

export function readConfig(bytes: Buffer, what: string): ConfigView {
  checkDocumentSize(bytes.length, MAX_CONFIG_BYTES, `The config of ${what}`);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EcrxError('INVALID_IMAGE', `The config of ${what} is not JSON`, {
      hint: 'This may be an OCI artifact rather than a container image; `ecrx inspect --raw` shows its manifest.',
    });
  }
  if (!isJsonObject(doc)) throw new EcrxError('INVALID_IMAGE', `The config of ${what} is not a JSON object`);
  const d = doc;
  const inner = isJsonObject(d.config) ? d.config : {};
  const platform = platformOfConfig(bytes);
  return {
    platform: platform ? formatPlatform(platform) : null,
    created: typeof d.created === 'string' ? d.created : null,
    entrypoint: strings(inner.Entrypoint),
    cmd: strings(inner.Cmd),
    doc: d,
  };
}
