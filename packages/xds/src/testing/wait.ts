// Polling helper for tests that wait on another side of a socket.
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves once `cond()` is true; rejects after `ms` with `what`. */
export async function eventually(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
