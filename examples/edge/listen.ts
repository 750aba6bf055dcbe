/**
 * Where the example's servers listen and how long they wait for a client:
 * `HOST` (default 127.0.0.1; `HOST=0.0.0.0` in a container), `PORT`
 * (default 8787), `HEADERS_TIMEOUT_MS` and `REQUEST_TIMEOUT_MS`. A client
 * that has not sent its whole request head within the headers timeout, or
 * its whole request (head and body) within the request timeout, is answered
 * 408 and disconnected, so a slowloris connection cannot stay open. And when
 * it sheds load: `MAX_UNREAD_REQUESTS`, `RETRY_AFTER_SECONDS`.
 */
import { envInteger } from "./services.ts"

export interface ListenConfig {
  readonly host: string
  readonly port: number
  /** The request head (request line and headers) must arrive within this many milliseconds. */
  readonly headersTimeoutMs: number
  /** The whole request (head and body) must arrive within this many milliseconds; the response may take longer. */
  readonly requestTimeoutMs: number
  /** An idle keep-alive connection is closed after this many milliseconds. */
  readonly keepAliveTimeoutMs: number
  /**
   * Connections the kernel queues before the server accepts them (capped by
   * `net.core.somaxconn`). Node's default, 511, makes a burst of new
   * connections wait for SYN retransmits (1 s, 3 s, …) the server never sees.
   */
  readonly backlog: number
  /**
   * Requests the server may have accepted and not read yet (connections
   * whose first request head is not parsed, keyed requests whose body is
   * not read); at this many, a keyed request is answered 503 with
   * `Retry-After`, unread. Cheap answers keep the server accepting during a
   * burst, so that fewer connections wait in the kernel's queue, where the
   * sequencer cannot see them.
   */
  readonly maxUnreadRequests: number
  /** A request shed with 503 may be sent again after this many seconds (its `Retry-After`). */
  readonly retryAfterSeconds: number
}

export const defaultListenConfig: ListenConfig = {
  host: "127.0.0.1",
  port: 8787,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  backlog: 4096,
  maxUnreadRequests: 256,
  retryAfterSeconds: 1
}

/** Reads `ListenConfig` from the environment; an unset variable keeps its default, a malformed one stops the server. */
export const listenConfigFromEnv = (env: Readonly<Record<string, string | undefined>>): ListenConfig => {
  const int = (name: string, min: number, fallback: number): number => envInteger(env, name, min) ?? fallback
  const headersTimeoutMs = int("HEADERS_TIMEOUT_MS", 1, defaultListenConfig.headersTimeoutMs)
  return {
    host: env.HOST || defaultListenConfig.host,
    port: int("PORT", 0, defaultListenConfig.port),
    headersTimeoutMs,
    // Node refuses a request timeout below the headers timeout.
    requestTimeoutMs: int("REQUEST_TIMEOUT_MS", headersTimeoutMs, Math.max(headersTimeoutMs, defaultListenConfig.requestTimeoutMs)),
    keepAliveTimeoutMs: defaultListenConfig.keepAliveTimeoutMs,
    backlog: defaultListenConfig.backlog,
    maxUnreadRequests: int("MAX_UNREAD_REQUESTS", 1, defaultListenConfig.maxUnreadRequests),
    retryAfterSeconds: int("RETRY_AFTER_SECONDS", 1, defaultListenConfig.retryAfterSeconds)
  }
}
