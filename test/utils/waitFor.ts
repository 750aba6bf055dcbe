/**
 * Waits for a condition on real components (a server, child processes) by
 * polling it: the tests wait on state, never on time. Fails loudly: on
 * timeout with what it waited for, and when the condition itself keeps
 * failing (a Redis or broker error, a bug in the condition) with that error
 * as the cause, after a few polls rather than at the timeout. A few failing
 * polls in a row are tolerated: a component may answer with an error for a
 * moment while it starts (a topic's metadata just after its creation).
 */

/** Between polls. */
const POLL_MS = 50
/** Polls in a row whose condition threw before the error is thrown (about a second). */
const FAILING_POLLS = 20

export const waitFor = async (
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 45_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let failing = 0
  let lastError: unknown
  for (;;) {
    try {
      if (await condition()) return
      failing = 0
    } catch (error) {
      lastError = error
      if (++failing >= FAILING_POLLS) {
        throw new Error(`waiting for ${what}: the condition failed ${failing} times in a row: ${String(error)}`, {
          cause: error
        })
      }
    }
    if (Date.now() > deadline) {
      const last = failing > 0 ? ` (its last poll failed: ${String(lastError)})` : ""
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError })
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}
