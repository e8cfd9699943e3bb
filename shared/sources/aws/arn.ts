/**
 * Secrets Manager identifiers. A secret is named by its friendly name (`prod/db`), its
 * full ARN (`arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123`, where
 * Secrets Manager appends `-` and six random characters) or a partial ARN (the full ARN
 * without that suffix). Events and bindings may use any of the three for the same secret.
 */

export interface SecretArn {
  partition: string;
  region: string;
  account: string;
  /** Everything after `secret:`: the name, plus the random suffix on a full ARN. */
  resource: string;
}

const ARN = /^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/;
const SUFFIX = /-[A-Za-z0-9]{6}$/;

export function parseSecretArn(ref: string): SecretArn | undefined {
  const match = ARN.exec(ref);
  if (match === null) return undefined;
  const [, partition, region, account, resource] = match;
  if (partition === undefined || region === undefined || account === undefined || resource === undefined)
    return undefined;
  return { partition, region, account, resource };
}

/** Whether `resource` (an ARN's resource part) names the secret `name`, with or without the random suffix. */
function resourceNames(resource: string, name: string): boolean {
  return (
    resource === name ||
    (resource.length === name.length + 7 && resource.startsWith(name) && SUFFIX.test(resource))
  );
}

/**
 * Whether two references name the same secret. Pure and conservative: a name matches an
 * ARN only in the given region (when one is given); two ARNs must agree on partition,
 * region and account; a partial ARN matches the full ARN that adds the suffix.
 */
export function sameSecret(a: string, b: string, region?: string): boolean {
  if (a === b) return true;
  const arnA = parseSecretArn(a);
  const arnB = parseSecretArn(b);
  if (arnA !== undefined && arnB !== undefined) {
    if (arnA.partition !== arnB.partition || arnA.region !== arnB.region || arnA.account !== arnB.account)
      return false;
    return resourceNames(arnA.resource, arnB.resource) || resourceNames(arnB.resource, arnA.resource);
  }
  const arn = arnA ?? arnB;
  if (arn === undefined) return false;
  const name = arnA === undefined ? a : b;
  if (region !== undefined && arn.region !== region) return false;
  return resourceNames(arn.resource, name);
}

/** The friendly name carried by a reference: the name itself, or an ARN's resource without the suffix (when it has one). */
export function secretNameOf(ref: string): string {
  const arn = parseSecretArn(ref);
  if (arn === undefined) return ref;
  return SUFFIX.test(arn.resource) ? arn.resource.slice(0, -7) : arn.resource;
}

/**
 * The IAM resource pattern covering a reference: a full ARN as is, a name or partial ARN
 * with `-??????` for the random suffix (the pattern AWS documents for policies by name).
 */
export function secretArnPattern(
  ref: string,
  scope: { partition: string; region: string; account: string },
): string {
  const arn = parseSecretArn(ref);
  if (arn !== undefined) {
    // A partial ARN and a full ARN look alike when the name ends in "-" + 6 characters; cover both.
    return SUFFIX.test(arn.resource) ? ref : `${ref}-??????`;
  }
  return `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:${ref}-??????`;
}
