/** A registered route as Hono lists it in `app.routes`. */
interface RouteEntry {
  readonly method: string;
  readonly path: string;
}

interface PathMethods {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

/** Converts a Hono route path such as `/queues/:queue/jobs` into a pattern for request paths. */
function toPattern(path: string): RegExp {
  const segments = path.split('/').map((segment) => {
    if (segment.startsWith(':')) return '[^/]+';
    if (segment === '*') return '.*';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}

/**
 * Builds a lookup of the methods each registered path takes, for 405 responses. Middleware,
 * which Hono lists with the method ALL, is left out. Hono serves HEAD with the GET handler,
 * so a path with GET also takes HEAD.
 */
export function indexAllowedMethods(routes: readonly RouteEntry[]): (path: string) => string[] {
  const byPath = new Map<string, PathMethods>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    const entry = byPath.get(route.path) ?? { pattern: toPattern(route.path), methods: new Set() };
    entry.methods.add(route.method);
    if (route.method === 'GET') entry.methods.add('HEAD');
    byPath.set(route.path, entry);
  }
  const entries = [...byPath.values()];

  return (path) => {
    const methods = new Set<string>();
    for (const entry of entries) {
      if (!entry.pattern.test(path)) continue;
      for (const method of entry.methods) methods.add(method);
    }
    return [...methods].sort();
  };
}
