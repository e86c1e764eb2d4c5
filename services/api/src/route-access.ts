/** Paths that respond without any token. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

/**
 * Returns whether a request is a progress or log callback, which carries a job token instead of
 * an API token. `path` may also be an OpenAPI path template such as `/queues/{queue}/...`.
 */
export function isJobCallback(method: string, path: string): boolean {
  return (
    method.toUpperCase() === 'POST' && /^\/queues\/[^/]+\/jobs\/[^/]+\/(progress|logs)$/.test(path)
  );
}
