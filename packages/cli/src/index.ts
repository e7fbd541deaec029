// @blazar/cli: the `blazar` command. Its public surface is the program builder (used by tests).
export { buildProgram } from './program.ts'
