/** Reads a variable the parent bench process must set for a child program. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set; this program is started by the bench, not by hand`);
  }
  return value;
}

/** Reads a positive integer variable the parent bench process must set. */
export function requiredIntegerEnv(name: string): number {
  const value = Number(requiredEnv(name));
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer`);
  }
  return value;
}
