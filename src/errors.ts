/**
 * Typed errors. Every error that crosses a boundary carries a stable `code` and, where it
 * concerns one record, the record and field, so the edge can turn it into an HTTP 4xx,
 * an exception for a CSR, or a clear CLI message instead of a stack trace.
 */

export interface ErrorDetail {
  record?: string | number;
  field?: string;
  value?: unknown;
}

/**
 * Every error code fieldgate gives, once: the HTTP status it answers with (unless the thrower
 * says otherwise) and what it means. A code outside this catalog does not compile, and code
 * that branches on a code compares against this union, so a typo is a build error.
 */
export const ERROR_CATALOG = {
  ALREADY_REVIEWED: { status: 409, meaning: 'the cycle was signed off already' },
  AMI_FORMAT: { status: 400, meaning: 'a file that is not CMEP, Green Button ESPI or NEM12' },
  AMI_IMPORT: { status: 500, meaning: 'the AMI import worker stopped before it finished' },
  AMI_IMPORT_MEMORY: { status: 500, meaning: 'an AMI import needs more heap than ami.workerHeapMb allows' },
  AMI_IMPORT_STOPPED: { status: 503, meaning: 'an AMI import ended by a stop; it resumes at the next start' },
  BAD_BACKUP: { status: 400, meaning: 'a file that is not a store backup' },
  BAD_CREDENTIALS: { status: 401, meaning: 'wrong username or password' },
  BAD_INPUT: { status: 400, meaning: 'input that breaks a rule of the domain, naming the field' },
  BAD_STATE: { status: 409, meaning: 'a move its current state does not allow' },
  BILLING_NOT_EMPTY: { status: 400, meaning: 'seeding the reference CIS over existing data' },
  BILLING_QUERY: { status: 503, meaning: 'billing refused or failed a query' },
  BILLING_SCHEMA: { status: 503, meaning: 'billing lacks a mapped table or column' },
  BILLING_FILES: { status: 503, meaning: "file mode's exchange folders, layout or route exports are not ready" },
  BILLING_UNAVAILABLE: { status: 503, meaning: 'billing is unreachable' },
  CONFIG: { status: 500, meaning: 'configuration that does not validate' },
  CSRF: { status: 403, meaning: "a console change without the session's CSRF token" },
  DB_DIALECT: { status: 400, meaning: 'a database URL of a kind fieldgate does not speak' },
  DB_URL: { status: 400, meaning: 'a database URL that does not parse' },
  DEVICE_NOT_APPROVED: { status: 409, meaning: 'a hand-held an admin has not approved' },
  DUPLICATE: { status: 409, meaning: 'something that exists already' },
  EXISTS: { status: 400, meaning: 'a file that exists already (never overwritten)' },
  FILE_NOT_FOUND: { status: 404, meaning: 'a file that is not there' },
  FORBIDDEN: { status: 403, meaning: 'the role may not do this' },
  GATEWAY_UNREACHABLE: { status: 400, meaning: 'the CLI cannot reach the running gateway' },
  HTTP: { status: 400, meaning: 'an outside HTTP service answered with an error' },
  INVALID_DEVICE_ID: { status: 400, meaning: 'a device, tablet or receiver name outside the pattern' },
  INVALID_INPUT: { status: 400, meaning: 'input that does not validate, naming the field' },
  INVITE_NO_MATCH: {
    status: 400,
    meaning: 'a portal registration whose account number and code match no open invitation',
  },
  JOB_RUNNING: { status: 409, meaning: 'the job is running already' },
  NOT_A_FILE: { status: 400, meaning: 'a path that is not a regular file' },
  NOT_A_STORE: { status: 400, meaning: 'a database that is not a fieldgate store' },
  NOT_CONFIGURED: { status: 400, meaning: 'a feature its configuration does not enable' },
  NOT_FOUND: { status: 404, meaning: 'no such thing (or not yours)' },
  NOT_YOURS: { status: 403, meaning: "a technician's move on an order dispatched to someone else" },
  NO_READING: { status: 409, meaning: 'an exception action that needs a reading the exception has not' },
  NO_ROUTE_LINE: { status: 409, meaning: 'a reading whose meter is not on its route' },
  PHOTO_LIMIT: { status: 409, meaning: 'more photos of one meter or order than fieldApp.maxPhotosPerItem' },
  PHOTO_TOO_LARGE: { status: 413, meaning: 'a photo over fieldApp.photoMaxBytes' },
  PHOTO_TYPE: { status: 415, meaning: 'an upload that is not a JPEG, PNG or WebP photo' },
  REASON_REQUIRED: { status: 400, meaning: 'a change that must say why' },
  ROUTE_ALREADY_LOADED: { status: 409, meaning: 'the route is loaded on a device already' },
  ROUTE_ASSIGNED: { status: 409, meaning: 'the route is assigned to another device already' },
  ROUTE_EMPTY: { status: 409, meaning: 'a route with no meters to read' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'a route that has not been exported' },
  ROUTE_NOT_ON_DEVICE: { status: 409, meaning: 'a route the device does not hold' },
  ROUTE_ON_DEVICE: { status: 409, meaning: 'a route a device holds' },
  ROUTE_STATE: { status: 409, meaning: 'a route move its state does not allow' },
  ROUTE_TOO_LARGE: { status: 409, meaning: 'a route larger than its layout can number' },
  STALE_VERSION: { status: 409, meaning: 'a change made on an older version (the current one comes with it)' },
  TOKEN_EXISTS: { status: 409, meaning: 'a token of that name exists already' },
  TOO_MANY_ATTEMPTS: { status: 429, meaning: 'too many failed logins; wait and try again' },
  UNAUTHENTICATED: { status: 401, meaning: 'no token or session, or one that ended' },
  UNKNOWN_JOB: { status: 400, meaning: 'no job of that name' },
  UNLOAD_HASH: { status: 400, meaning: 'readings that do not match their announced size or hash' },
  USAGE: { status: 400, meaning: 'a CLI call whose words are off' },
  USER_EXISTS: { status: 409, meaning: 'a user of that name exists already' },
  USE_DATABASE_TOOLS: { status: 400, meaning: "a PostgreSQL store is backed up with PostgreSQL's own tools" },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Whether a code from outside (a worker's message, a device's reply) is one of ours. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOG, code);
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: ErrorDetail;

  constructor(code: ErrorCode, message: string, opts: { status?: number; cause?: unknown } & ErrorDetail = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? ERROR_CATALOG[code].status;
    this.detail = { record: opts.record, field: opts.field, value: opts.value };
  }
}

/** Configuration that does not validate: lists every problem as `path: message`. */
export class ConfigError extends AppError {
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super('CONFIG', `invalid configuration (${source}):\n  ${problems.join('\n  ')}`, { status: 500 });
    this.problems = problems;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string | number) {
    super('NOT_FOUND', `${what} '${id}' not found`, { status: 404, record: id });
  }
}

export class ConflictError extends AppError {
  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}) {
    super(code, message, { status: 409, ...detail });
  }
}

/** The billing database is unreachable or does not match the configured mapping. */
export class BillingError extends AppError {
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(code, message, { status: 503, cause });
  }
}

/**
 * A message fit for a person. knex prefixes driver errors with the whole SQL statement
 * (`insert into … - UNIQUE constraint failed`), which can be megabytes: keep the reason and
 * the start of the statement.
 */
export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const sql = /^\s*(insert|select|update|delete|create|alter|drop|with|merge)\b/i.test(message);
  const cut = message.lastIndexOf(' - ');
  if (sql && cut > 0) return `${message.slice(cut + 3)} (in: ${message.slice(0, 80).replace(/\s+/g, ' ')}…)`;
  return message.length > 2000 ? `${message.slice(0, 2000)}…` : message;
}
