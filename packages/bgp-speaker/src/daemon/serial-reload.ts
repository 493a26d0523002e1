// Runs configuration reloads one at a time. Two SIGHUPs in quick succession used to start two reads of
// the file at once; their reads could finish out of order and the older file was applied last. Here a
// request during a reload runs exactly one more reload after it (reading the file then), so the last
// file on disk is always the one applied, and a burst of requests costs at most two reloads.

/** Returns `request()`: resolves once a reload that started after the call has finished. */
export function serialReloader(reload: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const runOnce = (): Promise<void> => {
    running = reload()
      .catch(() => {})
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return () => {
    if (running === undefined) return runOnce();
    // One follow-up serves every request made while a reload runs.
    queued ??= running.then(() => {
      queued = undefined;
      return runOnce();
    });
    return queued;
  };
}
