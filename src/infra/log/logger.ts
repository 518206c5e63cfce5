import winston from 'winston';

export type Logger = winston.Logger;

export interface LogOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  format: 'auto' | 'json' | 'pretty';
  /** CLI commands keep stdout for their own output and log to stderr. */
  toStderr?: boolean;
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key/i;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi;

/** Masks secrets by key name and passwords inside connection URLs, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, '$1***@');
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '***' : redact(v, depth + 1);
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    info[key] = SECRET_KEY.test(key) ? '***' : redact(info[key]);
  }
  return info;
});

/** `12:01:02 info  [store] job=post-readings run=42  posted 5000 reads` */
const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, module: mod, stack, ...rest } = info as Record<string, unknown>;
  const ids = Object.entries(rest)
    .filter(([k]) => typeof k === 'string' && !k.startsWith('Symbol('))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const time = String(timestamp).slice(11, 19);
  const where = mod ? `[${String(mod)}] ` : '';
  const tail = `${ids ? `  (${ids})` : ''}${stack ? `\n${String(stack)}` : ''}`;
  return `${time} ${String(level).padEnd(5)} ${where}${String(message)}${tail}`;
});

export function createLogger(opts: LogOptions): Logger {
  const usePretty =
    opts.format === 'pretty' ||
    (opts.format === 'auto' && Boolean(opts.toStderr ? process.stderr.isTTY : process.stdout.isTTY));
  return winston.createLogger({
    level: opts.level,
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      redactFormat(),
      winston.format.timestamp(),
      usePretty ? pretty : winston.format.json(),
    ),
    transports: [
      new winston.transports.Console({
        stderrLevels: opts.toStderr ? ['error', 'warn', 'info', 'debug'] : ['error'],
      }),
    ],
  });
}

/** A logger that writes nowhere, for tests and library use. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
