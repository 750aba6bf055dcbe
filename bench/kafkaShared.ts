/** What bench/kafka.ts and bench/kafka-profile.ts both read: a process's CPU time, and the partitions a group holds. */
import { readFileSync } from "node:fs"
import { type Admin, AssignerProtocol } from "kafkajs"

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
