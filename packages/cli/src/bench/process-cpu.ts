// CPU time of processes this bench started (Linux /proc/<pid>/stat) and of this one, over a
// measured stretch: what "server CPU per message" and "client CPU" are computed from.
import { readFileSync } from 'node:fs'

/** Kernel clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100

/** User + system CPU time of a process so far, in seconds. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

export interface CpuSpent {
  seconds: number
  /** CPU seconds of each server process over the stretch, in the order of the PIDs given. */
  serverCpuSeconds: number[]
  clientCpuSeconds: number
}

/** Runs `measure` and reports its wall time and the CPU the given processes and this one spent. */
export async function withCpu<T> (pids: readonly number[], measure: () => Promise<T>): Promise<{ result: T, spent: CpuSpent }> {
  const serverBefore = pids.map(cpuSeconds)
  const clientBefore = process.cpuUsage()
  const start = performance.now()
  const result = await measure()
  const seconds = (performance.now() - start) / 1000
  const client = process.cpuUsage(clientBefore)
  return {
    result,
    spent: {
      seconds,
      serverCpuSeconds: pids.map((pid, i) => cpuSeconds(pid) - serverBefore[i]),
      clientCpuSeconds: (client.user + client.system) / 1e6
    }
  }
}
