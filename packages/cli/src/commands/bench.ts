// `blazar bench <target>`: benchmarks. Every bench takes --json (its last line is then one JSON
// object of all figures) and records its figures under bench/results/ with the machine and date.
import type { Command } from 'commander'
import { registerProduceBench } from './bench-produce.ts'
import { registerRaftBench } from './bench-raft.ts'
import { registerStorageBench } from './bench-storage.ts'
import { registerSyscallsBench } from './bench-syscalls.ts'
import { registerTransportBench } from './bench-transport.ts'
import { registerWorkloadsBench } from './bench-workloads.ts'

/** A bench registers itself as a subcommand of `bench` through one of these. */
export type BenchRegistration = (bench: Command) => void

const registrations: BenchRegistration[] = [registerTransportBench, registerRaftBench, registerStorageBench, registerProduceBench, registerWorkloadsBench, registerSyscallsBench]

export function registerBench (program: Command): void {
  const bench = program.command('bench').description('run a benchmark and record its figures under bench/results/')
  for (const register of registrations) register(bench)
}
