/**
 * The error hierarchy every layer speaks. Each error has a stable `code` (for logs,
 * metrics and outcome events) and a `retryable` flag (whether trying again later can
 * succeed). Messages name what was wrong and how to fix it, and never carry a secret
 * value: adapters build them from identifiers and status codes only.
 */
export const ErrorCode = {
  InvalidEvent: 'InvalidEvent',
  Config: 'ConfigError',
  SecretNotFound: 'SecretNotFound',
  AccessDenied: 'AccessDenied',
  Store: 'StoreError',
  Throttled: 'Throttled',
  ClusterUnavailable: 'ClusterUnavailable',
  ClusterRejected: 'ClusterRejected',
  Conflict: 'Conflict',
  Render: 'RenderError',
  ValidationGate: 'ValidationGateFailed',
  Timeout: 'Timeout',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface PropagatorErrorOptions {
  cause?: unknown;
  /** HTTP status from the remote side, when there was one. */
  status?: number;
  /** How long the remote side asked us to wait before trying again (`Retry-After`), in ms. */
  retryAfterMs?: number;
}

export abstract class PropagatorError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: PropagatorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A platform payload that is not a well-formed secret event. Never retried. */
export class InvalidEventError extends PropagatorError {
  readonly code = ErrorCode.InvalidEvent;
  readonly retryable = false;
}

/** The registry or the function's configuration is wrong. Never retried. */
export class ConfigError extends PropagatorError {
  readonly code = ErrorCode.Config;
  readonly retryable = false;
  /** One entry per problem, each `path: reason`. */
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options: PropagatorErrorOptions = {}) {
    super(issues.length === 0 ? message : `${message}\n  ${issues.join('\n  ')}`, options);
    this.issues = issues;
  }
}

/** The store has no such secret (or version). Part of the source contract, as in ESO. */
export class SecretNotFoundError extends PropagatorError {
  readonly code = ErrorCode.SecretNotFound;
  readonly retryable = false;
}

/** The store refused our identity. Fix IAM / RBAC; retrying will not help. */
export class AccessDeniedError extends PropagatorError {
  readonly code = ErrorCode.AccessDenied;
  readonly retryable = false;
}

/** The store failed in a way that may pass (5xx, network, KMS hiccup). */
export class StoreError extends PropagatorError {
  readonly code = ErrorCode.Store;
  readonly retryable: boolean;
  constructor(message: string, options: PropagatorErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? true;
  }
}

/** The store or a cluster asked us to slow down (429, ThrottlingException). */
export class ThrottledError extends PropagatorError {
  readonly code = ErrorCode.Throttled;
  readonly retryable = true;
}

/** A cluster could not be reached, timed out, or answered 5xx. */
export class ClusterUnavailableError extends PropagatorError {
  readonly code = ErrorCode.ClusterUnavailable;
  readonly retryable = true;
}

/** A cluster answered with a definitive refusal (400, 401, 403, 404, 422). */
export class ClusterRejectedError extends PropagatorError {
  readonly code = ErrorCode.ClusterRejected;
  readonly retryable = false;
}

/** A write lost an optimistic-concurrency race (HTTP 409). Retried after a fresh read. */
export class ConflictError extends PropagatorError {
  readonly code = ErrorCode.Conflict;
  readonly retryable = true;
}

/** A template could not be rendered (unknown function, missing key, bad input). */
export class RenderError extends PropagatorError {
  readonly code = ErrorCode.Render;
  readonly retryable = false;
}

/** A validation gate refused the value (expired certificate, malformed dockerconfigjson...). */
export class ValidationGateError extends PropagatorError {
  readonly code = ErrorCode.ValidationGate;
  readonly retryable = false;
}

/** An operation ran past its deadline. */
export class TimeoutError extends PropagatorError {
  readonly code = ErrorCode.Timeout;
  readonly retryable = true;
}

export function isPropagatorError(error: unknown): error is PropagatorError {
  return error instanceof PropagatorError;
}

/** The stable code of any thrown value; unknown errors are `Internal`. */
export function errorCodeOf(error: unknown): ErrorCode | 'Internal' {
  return isPropagatorError(error) ? error.code : 'Internal';
}

/** Unknown errors are treated as retryable: losing a change is worse than trying twice. */
export function isRetryable(error: unknown): boolean {
  return isPropagatorError(error) ? error.retryable : true;
}
