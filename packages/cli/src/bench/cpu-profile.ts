// A CPU profile of this process (the bench's client side) over a stretch, through the inspector,
// written as a .cpuprofile file (Chrome DevTools / speedscope format, as `node --cpu-prof`).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

export interface RunningProfile {
  /** Stops profiling and writes the profile to `file`. */
  stop: (file: string) => Promise<void>
}

export async function startCpuProfile (): Promise<RunningProfile> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(file, JSON.stringify(profile))
      session.disconnect()
    }
  }
}
