import { parseOrThrow, ValidationError } from '@bullpen/core';
import type { Context, MiddlewareHandler } from 'hono';
import { z } from 'zod';

/** Query of a route that takes no parameters, so that any parameter is 400. */
export const noQuerySchema = z.strictObject({});

/**
 * Parses the query string with `schema`. A parameter given twice is 400, because Hono's
 * `c.req.query()` keeps the first value, which silently answered
 * `?statuses=waiting&statuses=failed` with waiting jobs only. A parameter with an empty
 * name, which Hono drops, reaches the schema as an unknown parameter.
 */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  // A null prototype, so that a parameter named "__proto__" is an ordinary key.
  const values: Record<string, string> = Object.create(null);
  if (c.req.url.includes('?')) {
    for (const [name, value] of new URL(c.req.url).searchParams) {
      if (Object.hasOwn(values, name)) {
        const shown = name.slice(0, 100);
        throw new ValidationError(
          `Invalid query: the parameter "${shown}" is given more than once; send it once, with a comma list where the parameter takes several values.`,
          [{ path: `query.${shown}`, message: 'must be given only once' }],
        );
      }
      values[name] = value;
    }
  }
  return parseOrThrow(schema, values, 'query', ['query']);
}

/** Rejects any query parameter, for routes whose handler the app does not write itself. */
export function rejectQuery(): MiddlewareHandler {
  return async (c, next) => {
    readQuery(c, noQuerySchema);
    await next();
  };
}
