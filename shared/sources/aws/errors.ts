import {
  AccessDeniedError,
  isPropagatorError,
  SecretNotFoundError,
  StoreError,
  ThrottledError,
  type PropagatorError,
} from '../../core/errors.js';

/** Secrets Manager could not decrypt the value with its KMS key (key disabled, key policy, grant). */
export class KmsDecryptionError extends StoreError {
  constructor(message: string, options: { cause?: unknown; status?: number } = {}) {
    // Usually a key policy or a disabled key: retrying will not help until someone fixes it.
    super(message, { ...options, retryable: false });
  }
}

interface SdkErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

function shapeOf(error: unknown): {
  name: string;
  status: number | undefined;
  scheduledForDeletion: boolean;
} {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape & {
    message?: unknown;
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  // The message is only inspected, never forwarded.
  const scheduledForDeletion =
    typeof e.message === 'string' && /marked (for )?delet|scheduled for deletion/i.test(e.message);
  return { name: typeof e.name === 'string' ? e.name : 'UnknownError', status, scheduledForDeletion };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'Throttling',
]);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'KMSAccessDeniedException',
]);

/**
 * Maps an SDK failure to our error hierarchy. Messages are built from the operation, the
 * secret id and the AWS error name only: never the SDK message, which can echo input.
 * The original error is kept as `cause` for stack traces, not for logging.
 */
export function toStoreError(error: unknown, operation: string, secretId: string): PropagatorError {
  if (isPropagatorError(error)) return error;
  const { name, status, scheduledForDeletion } = shapeOf(error);
  const where = `Secrets Manager ${operation} on "${secretId}"`;
  const options = status === undefined ? { cause: error } : { cause: error, status };
  if (name === 'ResourceNotFoundException') {
    return new SecretNotFoundError(
      `${where}: no such secret or version (ResourceNotFoundException); check remoteRef.key and the source region`,
      options,
    );
  }
  if (name === 'InvalidRequestException' && scheduledForDeletion) {
    // A deleted secret in its recovery window: gone for every reader, so "not found" (deletion policies apply).
    return new SecretNotFoundError(
      `${where}: the secret is scheduled for deletion (InvalidRequestException)`,
      options,
    );
  }
  if (DENIED.has(name) || status === 403) {
    return new AccessDeniedError(
      `${where}: access denied (${name}); grant secretsmanager:${operation} (and kms:Decrypt on a customer managed key) to the function role`,
      options,
    );
  }
  if (name === 'DecryptionFailure' || name.startsWith('KMS')) {
    return new KmsDecryptionError(
      `${where}: the value could not be decrypted with its KMS key (${name}); check the key is enabled and its policy allows the function role`,
      options,
    );
  }
  if (THROTTLING.has(name) || status === 429) {
    return new ThrottledError(`${where}: throttled (${name})`, options);
  }
  if (
    name === 'InvalidRequestException' ||
    name === 'InvalidParameterException' ||
    name === 'ValidationException'
  ) {
    // E.g. a secret scheduled for deletion, or a rotation already in progress.
    return new StoreError(
      `${where}: request refused (${name}); the secret may be scheduled for deletion or mid-rotation`,
      { ...options, retryable: false },
    );
  }
  const retryable = status === undefined || status >= 500 || name === 'InternalServiceError';
  return new StoreError(`${where}: failed (${name}${status === undefined ? '' : `, HTTP ${status}`})`, {
    ...options,
    retryable,
  });
}
