/**
 * Bun's HTTP/1.1 pipelining with streamed responses, reduced to a plain
 * `Bun.serve` (nothing of effect-ordered): `count` requests are written in
 * one go on one connection, and we count the responses that come back before
 * the connection closes or goes quiet. One handler per way of answering:
 * a streamed `ReadableStream` body (what `POST /actions` does), the same
 * after an `await`, a buffered string after an `await`, and a synchronous
 * string. Node answers every one of them.
 *
 *   npx bun bench/bun-pipelining.ts [--count 60]
 */
import { createServer } from "node:http"
import { connect } from "node:net"

/** The part of the `Bun` global used here (the project type-checks with Node's types). */
interface BunGlobal {
  readonly version: string
  serve(options: {
    readonly hostname: string
    readonly port: number
    readonly fetch: (request: Request) => Response | Promise<Response>
  }): { readonly port: number; stop(force?: boolean): void }
}
const { Bun } = globalThis as unknown as { Bun: BunGlobal }

/** Two lines; with `lineMillis`, each line comes after a timer (the stream is still open when the next request is parsed). */
const streamed = (lineMillis?: number) => {
  let lines = 0
  return new Response(
    new ReadableStream({
      async pull(controller) {
        if (lineMillis !== undefined) await new Promise((resolve) => setTimeout(resolve, lineMillis))
        controller.enqueue(new TextEncoder().encode("line\n"))
        if (++lines === 2) controller.close()
      }
    }),
    { headers: { "content-type": "application/x-ndjson" } }
  )
}

const handlers: Record<string, (request: Request) => Response | Promise<Response>> = {
  "streamed body": () => streamed(),
  "streamed body, a line every 1 ms": () => streamed(1),
  "streamed body after an await": async () => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return streamed()
  },
  "string after an await": async () => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return new Response("line\n")
  },
  "string, synchronous": () => new Response("line\n")
}

/** Writes `count` pipelined GETs at once; resolves with the number of complete responses before close or 2 s of quiet. */
const pipeline = (port: number, count: number): Promise<number> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    let received = ""
    let quiet: ReturnType<typeof setTimeout> | undefined
    const done = () => {
      clearTimeout(quiet)
      socket.destroy()
      resolve(received.split("HTTP/1.1 200").length - 1)
    }
    const rearm = () => {
      clearTimeout(quiet)
      quiet = setTimeout(done, 2_000)
    }
    socket.on("connect", () => {
      socket.write("GET / HTTP/1.1\r\nHost: loopback\r\n\r\n".repeat(count))
      rearm()
    })
    socket.on("data", (data) => {
      received += data
      rearm()
    })
    socket.on("error", () => {})
    socket.on("close", done)
  })

/** The workaround: Bun's `node:http`, with the slowest of the handlers above (an await, then a line every 1 ms). */
const nodeHttp = async (count: number): Promise<number> => {
  const server = createServer(async (_request, response) => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    response.writeHead(200, { "content-type": "application/x-ndjson" })
    response.write("line\n")
    await new Promise((resolve) => setTimeout(resolve, 1))
    response.end("line\n")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    const address = server.address()
    return await pipeline(typeof address === "object" && address ? address.port : 0, count)
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

const arg = process.argv.indexOf("--count")
const count = arg === -1 ? 60 : Number(process.argv[arg + 1])
console.log(`\n### Bun ${Bun.version}: ${count} pipelined requests on one connection\n`)
console.log("| handler | responses |\n| --- | --- |")
for (const [name, fetch] of Object.entries(handlers)) {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch })
  try {
    console.log(`| ${name} | ${await pipeline(server.port, count)} of ${count} |`)
  } finally {
    server.stop(true)
  }
}
console.log(`| node:http on Bun: an await, then a line every 1 ms | ${await nodeHttp(count)} of ${count} |`)
