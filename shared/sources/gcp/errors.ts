import {
  AccessDeniedError,
  isPropagatorError,
  type PropagatorError,
  SecretNotFoundError,
  StoreError,
  ThrottledError,
} from '../../core/errors.js';

/** A version that is DISABLED or DESTROYED was asked for (FAILED_PRECONDITION). */
export class DisabledVersionError extends StoreError {
  constructor(message: string, options: { status?: number } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** Canonical Google API status names (google.rpc.Code), indexed by their gRPC number. */
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
type StatusName = (typeof GRPC_CODES)[number];

const HTTP_TO_STATUS: Record<number, StatusName> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function isStatusName(value: unknown): value is StatusName {
  return typeof value === 'string' && (GRPC_CODES as readonly string[]).includes(value);
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Gaxios (the REST transport's HTTP client) leaves the response body unparsed and puts
 * its text in `message`; the canonical status is in its JSON `error.status`.
 */
function statusInBody(message: unknown): unknown {
  if (typeof message !== 'string' || !message.startsWith('{')) return undefined;
  try {
    return field(field(JSON.parse(message) as unknown, 'error'), 'status');
  } catch {
    return undefined;
  }
}

/**
 * The canonical status of an SDK failure and the HTTP status when there was one. The
 * client speaks REST (gax fallback mode): the auth client may throw a Gaxios error carrying
 * the HTTP status and the JSON error body (`error.status` is the canonical name), and gax's
 * own errors carry `code`, a google.rpc.Code number (as gRPC errors do).
 */
export function statusOf(error: unknown): { status: StatusName | undefined; http: number | undefined } {
  const response = field(error, 'response');
  const httpRaw =
    field(response, 'status') ??
    (typeof field(error, 'status') === 'number' ? field(error, 'status') : undefined);
  const http = typeof httpRaw === 'number' ? httpRaw : undefined;
  const bodyStatus =
    field(field(field(response, 'data'), 'error'), 'status') ?? statusInBody(field(error, 'message'));
  if (isStatusName(bodyStatus)) return { status: bodyStatus, http };
  if (http !== undefined)
    return { status: HTTP_TO_STATUS[http] ?? (http >= 500 ? 'UNAVAILABLE' : 'UNKNOWN'), http };
  const code = field(error, 'code');
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < GRPC_CODES.length) {
    return { status: GRPC_CODES[code], http: undefined };
  }
  return { status: undefined, http: undefined };
}

/**
 * Maps a Secret Manager failure to the shared error hierarchy. Messages are built from
 * the resource name and the status only: never from the SDK's message, which may echo
 * request or response bodies.
 */
export function toSourceError(error: unknown, what: string): PropagatorError {
  if (isPropagatorError(error)) return error;
  const { status, http } = statusOf(error);
  const options = http === undefined ? {} : { status: http };
  switch (status) {
    case 'NOT_FOUND':
      return new SecretNotFoundError(`Secret Manager has no ${what} (NOT_FOUND)`, options);
    case 'PERMISSION_DENIED':
    case 'UNAUTHENTICATED':
      return new AccessDeniedError(
        `Secret Manager refused access to ${what} (${status}): grant the function's service account roles/secretmanager.secretAccessor on the secret`,
        options,
      );
    case 'RESOURCE_EXHAUSTED':
      return new ThrottledError(
        `Secret Manager throttled the request for ${what} (RESOURCE_EXHAUSTED)`,
        options,
      );
    case 'FAILED_PRECONDITION':
      return new DisabledVersionError(`${what} is disabled or destroyed (FAILED_PRECONDITION)`, options);
    case 'INVALID_ARGUMENT':
    case 'OUT_OF_RANGE':
    case 'ALREADY_EXISTS':
    case 'UNIMPLEMENTED':
      return new StoreError(`Secret Manager rejected the request for ${what} (${status})`, {
        ...options,
        retryable: false,
      });
    case 'OK':
    case 'CANCELLED':
    case 'UNKNOWN':
    case 'DEADLINE_EXCEEDED':
    case 'ABORTED':
    case 'INTERNAL':
    case 'UNAVAILABLE':
    case 'DATA_LOSS':
    case undefined: {
      const code = field(error, 'code');
      const detail = status ?? (typeof code === 'string' ? code : 'network error');
      return new StoreError(`Secret Manager failed for ${what} (${detail}); will retry`, {
        ...options,
        retryable: true,
      });
    }
  }
}
