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

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: ErrorDetail;

  constructor(code: string, message: string, opts: { status?: number; cause?: unknown } & ErrorDetail = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 400;
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
  constructor(code: string, message: string, detail: ErrorDetail = {}) {
    super(code, message, { status: 409, ...detail });
  }
}

/** The billing database is unreachable or does not match the configured mapping. */
export class BillingError extends AppError {
  constructor(code: string, message: string, cause?: unknown) {
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
