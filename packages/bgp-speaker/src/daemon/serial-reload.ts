// Runs configuration reloads one at a time. Two SIGHUPs in quick succession used to start two reads of
// the file at once; their reads could finish out of order and the older file was applied last. Here a
// request during a reload runs exactly one more reload after it (reading the file then), so the last
// file on disk is always the one applied, and a burst of requests costs at most two reloads.
// Each request's promise settles with the outcome of the reload that served it: a failed reload rejects
// its callers' promises with its error, and the next request still runs a reload.

const ignore = (): void => {};

/**
 * Returns `request()`: settles once a reload that started after the call has finished, with that
 * reload's outcome (it rejects with the reload's error; a synchronous throw counts as a rejection).
 * Requests made while a reload runs share one follow-up reload and all see its outcome. The returned
 * promises are marked handled, so a caller that drops one (fire and forget) drops its error and no
 * unhandled rejection escapes.
 */
export function serialReloader(reload: () => Promise<void>): () => Promise<void> {
  /** While a reload runs: fulfils (never rejects) once it has ended and `running` is cleared. */
  let running: Promise<void> | undefined;
  /** The follow-up reload's outcome, shared by every request made while the current one runs. */
  let followUp: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const outcome = new Promise<void>((resolve) => resolve(reload()));
    running = outcome.then(ignore, ignore).then(() => {
      running = undefined;
    });
    return outcome;
  };
  return () => {
    if (running === undefined) return start();
    if (followUp === undefined) {
      followUp = running.then(() => {
        followUp = undefined;
        return start();
      });
      followUp.catch(ignore);
    }
    return followUp;
  };
}
