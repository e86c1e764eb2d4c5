/** A step that undoes one thing a test set up. */
export type CleanupStep = () => Promise<void>;

/**
 * Creates a list that the running test fills with cleanup steps. After each test the steps
 * run in reverse order, every one of them even when an earlier one fails, and the test
 * fails if any of them threw.
 */
export function cleanupsAfterEach(): CleanupStep[] {
  const steps: CleanupStep[] = [];
  afterEach(async () => {
    const failures: unknown[] = [];
    for (const step of steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    expect(failures).toEqual([]);
  });
  return steps;
}
