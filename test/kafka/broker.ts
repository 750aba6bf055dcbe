/** A Kafka broker for the tests and the bench, started and stopped by scripts/kafka.sh. */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const script = fileURLToPath(new URL("../../scripts/kafka.sh", import.meta.url))
const run = promisify(execFile)

export interface KafkaBroker {
  readonly brokers: ReadonlyArray<string>
  /** The broker's data directory (its pid file lives there). */
  readonly dir: string
  readonly stop: () => Promise<void>
}

/** `properties`: broker settings added to scripts/kafka.sh's own (`name=value` each). */
export const startKafka = async (properties: Readonly<Record<string, string | number>> = {}): Promise<KafkaBroker> => {
  const extra = Object.entries(properties).map(([name, value]) => `${name}=${value}`).join("\n")
  // The first run downloads the broker (about 45 MB) from Maven Central.
  const { stdout } = await run(script, ["start"], { timeout: 300_000, env: { ...process.env, KAFKA_PROPERTIES: extra } })
  const value = (name: string) => {
    const line = stdout.split("\n").find((l) => l.startsWith(`${name}=`))
    if (line === undefined) throw new Error(`scripts/kafka.sh start printed no ${name}:\n${stdout}`)
    return line.slice(name.length + 1).trim()
  }
  const dir = value("KAFKA_DIR")
  return {
    brokers: [value("KAFKA_BROKERS")],
    dir,
    stop: async () => {
      await run(script, ["stop", dir], { timeout: 30_000 })
    }
  }
}
