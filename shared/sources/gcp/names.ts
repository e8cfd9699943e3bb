/**
 * Secret Manager resource names. A binding's `remoteRef.key` is either a bare secret id
 * (`db-password`, resolved in the source's project) or a full `projects/<p>/secrets/<s>`
 * name; events always carry the full name, usually with the project *number*.
 */

const SECRET_NAME = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/;
const SECRET_ID = /^[\w-]{1,255}$/;

export interface SecretName {
  project: string;
  secret: string;
  /** Present when the name points at one version. */
  version?: string;
}

/** Parses `projects/<p>/secrets/<s>[/versions/<v>]`; undefined for anything else. */
export function parseSecretName(name: string): SecretName | undefined {
  const match = SECRET_NAME.exec(name);
  if (match === null) return undefined;
  const [, project, secret, version] = match;
  if (project === undefined || secret === undefined) return undefined;
  return version === undefined ? { project, secret } : { project, secret, version };
}

/** The version id at the end of a SecretVersion name (`.../versions/7` -> `7`). */
export function versionIdOf(name: string | null | undefined): string | undefined {
  if (name === null || name === undefined) return undefined;
  return parseSecretName(name)?.version;
}

/**
 * The full secret name for a binding key, or undefined when the key is neither a bare
 * secret id nor a secret name.
 */
export function toSecretName(key: string, project: string): string | undefined {
  const parsed = parseSecretName(key);
  if (parsed !== undefined) return `projects/${parsed.project}/secrets/${parsed.secret}`;
  return SECRET_ID.test(key) ? `projects/${project}/secrets/${key}` : undefined;
}

/**
 * Whether `changeRef` (from an event) names the secret a binding calls `key`. Projects
 * match by id or number when they are the source's own project (events use the number,
 * registries usually the id); another project must match literally.
 */
export function sameSecret(
  key: string,
  changeRef: string,
  own: { project: string; projectNumber?: string | undefined },
): boolean {
  const event = parseSecretName(changeRef);
  if (event === undefined) return false;
  const keyName = parseSecretName(key);
  const keySecret = keyName?.secret ?? key;
  const keyProject = keyName?.project ?? own.project;
  if (keySecret !== event.secret) return false;
  if (keyProject === event.project) return true;
  const ownIds = new Set([own.project, ...(own.projectNumber === undefined ? [] : [own.projectNumber])]);
  return ownIds.has(keyProject) && ownIds.has(event.project);
}
