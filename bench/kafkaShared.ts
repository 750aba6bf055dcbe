/**
 * What the Kafka benches share: their broker and clients, a process's CPU time and the partitions a group holds
 * (bench/kafka.ts, bench/kafka-profile.ts, bench/kafka-protocols.ts), and the consumer processes of
 * bench/kafka-protocols.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Admin, AssignerProtocol, Kafka, logLevel } from "kafkajs"
import { startKafka } from "../test/kafka/broker.ts"
import { producerOptions } from "../test/kafka/sink.ts"

/**
 * What a Kafka bench runs against: a broker of its own (scripts/kafka.sh, with `properties`), an admin and the
 * tests' idempotent producer connected to it, and a scratch folder named after `name`; `stop` undoes it all
 * (with `keep`, the folder stays).
 */
export const startBench = async (name: string, properties?: Readonly<Record<string, string | number>>) => {
  const broker = await startKafka(properties)
  const kafka = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer(producerOptions)
  await Promise.all([admin.connect(), producer.connect()])
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  const stop = async (keep = false) => {
    await Promise.allSettled([admin.disconnect(), producer.disconnect()])
    await broker.stop()
    if (!keep) rmSync(dir, { recursive: true, force: true })
  }
  return { broker, admin, producer, dir, stop }
}

/** CPU time of a process so far, in µs (utime + stime from /proc, 100 ticks a second; every thread of it). */
export const cpuOf = (pid: number | string): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** Partitions held by the group's members. */
export const assignedPartitions = async (admin: Admin, group: string): Promise<number> => {
  const { groups } = await admin.describeGroups([group])
  let total = 0
  for (const member of groups[0]?.members ?? []) {
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
    total += Object.values(decoded?.assignment ?? {}).reduce((n, ps) => n + ps.length, 0)
  }
  return total
}

export type Client = "consume" | "platformatic" | "confluent"

export interface ProtocolConsumerConfig {
  readonly client: Client
  /** For `confluent`: which group protocol and assignor. */
  readonly protocol: "eager" | "cooperative" | "consumer"
  readonly brokers: ReadonlyArray<string>
  readonly topic: string
  readonly group: string
  readonly consumer: string
  readonly sink: string
  readonly partitions: number
  readonly window: number
  readonly maxLatencyMs: number
}

/**
 * A line of the sink: a record's processing started (`s`) or completed (`p`), its commit by `consume` (`c`); or a mark:
 * the consumer starting, an offset commit refused.
 */
export type SinkLine =
  | { readonly c: string; readonly k: "s" | "p" | "c"; readonly p: number; readonly o: number; readonly at: number }
  | { readonly c: string; readonly mark: "joining" | "refused"; readonly at: number }

/** A specifier in a variable: typechecking must not need the package, which is not a dependency. */
export const confluentPackage: string = "@confluentinc/kafka-javascript"
