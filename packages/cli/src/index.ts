// @blazar/cli: the `blazar` command. Its public surface is the program builder (used by tests)
// and the bench report helpers the bench subcommands share.
export { buildProgram } from './program.ts'
export { median, writeBenchReport } from './bench/report.ts'
export type { BenchFigures, BenchReport } from './bench/report.ts'
