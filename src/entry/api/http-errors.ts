import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { Logger } from '../../infra/log/logger.js';

/**
 * One error shape for every API answer: `{error:{code,message,field}}`. Unknown errors are 500, logged, and the server
 * keeps serving.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = res.getHeader('x-request-id');
    if (err instanceof z.ZodError) {
      const issue = err.issues[0]!;
      res.status(400).json({
        error: {
          code: 'INVALID_INPUT',
          message: `${issue.path.join('.') || 'body'}: ${issue.message}`,
          field: issue.path.join('.') || null,
        },
      });
      return;
    }
    if (err instanceof AppError) {
      // A conflict carries the current state of what was stale, so the client can redo its change on it.
      const current = (err as AppError & { current?: unknown }).current;
      const retryAfter = (err as AppError & { retryAfter?: number }).retryAfter;
      if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
      res.status(err.status).json({
        error: { code: err.code, message: err.message, field: err.detail.field ?? null },
        ...(current === undefined ? {} : { current }),
      });
      return;
    }
    const status = (err as { status?: number; type?: string }).status;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({
        error: {
          code: (err as { type?: string }).type?.toUpperCase().replace(/\./g, '_') ?? 'BAD_REQUEST',
          message: (err as Error).message,
          field: null,
        },
      });
      return;
    }
    log.error('request failed', {
      module: 'api',
      requestId,
      method: req.method,
      path: req.path,
      error: (err as Error)?.stack ?? String(err),
    });
    res.status(500).json({
      error: {
        code: 'INTERNAL',
        message: `internal error; see the gateway log for request ${String(requestId)}`,
        field: null,
      },
    });
  };
}
