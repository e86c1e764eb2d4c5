/**
 * Settles as `call` does, or rejects as soon as `signal` aborts, leaving the call behind.
 * While Redis is unreachable, a command can stay pending even after its connection is closed,
 * so a shutdown that awaited it would last as long as Redis stayed away.
 */
export function untilAborted<T>(call: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped while waiting for Redis'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Attached in every case, so that a call settling after the abort is still handled.
    call.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
