// Clean-up for an interrupted bench. Without it, Ctrl-C or SIGTERM ended the bench process at
// once and left its child processes and its private redis-server running, and the keys of
// the run in a shared Redis.

type CleanupStep = () => Promise<unknown>;
/** Function that ends a resource at once, without waiting, for a second signal during the clean-up. */
type ForceStop = () => void;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNAL_NUMBERS;

/** Maximum wait for one clean-up step, so that a stuck step cannot keep the bench alive. */
const STEP_TIMEOUT_MS = 15_000;

/** Registered steps in registration order, each with its way to end at once, if any. */
const steps = new Map<CleanupStep, ForceStop | undefined>();
let interruptedBy: HandledSignal | undefined;
let installed = false;

/** Tells whether a signal has started the clean-up. A path should then start nothing new. */
export function isInterrupted(): boolean {
  return interruptedBy !== undefined;
}

/** Throws when a signal has started the clean-up, to end a path's loop between two steps. */
export function throwIfInterrupted(): void {
  if (interruptedBy !== undefined) throw new Error(`the bench was interrupted by ${interruptedBy}`);
}

/**
 * Registers a step to run when the bench is interrupted, and returns the function that
 * removes it again once the resource it cleans up is gone. Steps run in the reverse order of
 * registration, so a Redis opened first is closed after the processes that use it.
 * `forceStop` ends the resource without waiting, when a second signal cuts the clean-up short.
 */
export function onInterrupt(step: CleanupStep, forceStop?: ForceStop): () => void {
  steps.set(step, forceStop);
  return () => steps.delete(step);
}

/**
 * Handles SIGINT and SIGTERM from here on: the first one runs every registered step and then
 * exits with 128 plus the signal number, as a shell reports a process ended by that signal.
 * A second signal during the clean-up kills what is left and exits at once. After the first
 * signal, a rejection that nothing handles is logged instead of ending the process, because
 * calls to the stopped processes fail while the clean-up runs.
 */
export function installInterruptHandlers(log: (message: string) => void): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNAL_NUMBERS) as HandledSignal[]) {
    process.on(signal, () => {
      const exitCode = 128 + SIGNAL_NUMBERS[signal];
      if (interruptedBy !== undefined) {
        log(`${signal} again: killing what is left and exiting; keys of the run may remain`);
        forceStopAll(log);
        process.exit(exitCode);
      }
      interruptedBy = signal;
      log(`${signal}: cleaning up (${steps.size} steps); send ${signal} again to exit at once`);
      void runSteps(log).finally(() => process.exit(exitCode));
    });
  }
  process.on('unhandledRejection', (reason) => {
    if (interruptedBy === undefined) {
      // What Node.js does without a handler: print the error and exit with code 1.
      console.error(reason);
      process.exit(1);
    }
    log(
      `unhandled rejection ignored during the clean-up: ${(reason as Error)?.message ?? String(reason)}`,
    );
  });
}

async function runSteps(log: (message: string) => void): Promise<void> {
  for (const step of [...steps.keys()].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`a clean-up step timed out after ${STEP_TIMEOUT_MS} ms`)),
        STEP_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([step(), timeout]);
    } catch (error) {
      log(`clean-up step failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      steps.delete(step);
    }
  }
}

function forceStopAll(log: (message: string) => void): void {
  for (const forceStop of steps.values()) {
    try {
      forceStop?.();
    } catch (error) {
      log(`forced stop failed: ${(error as Error).message}`);
    }
  }
}
