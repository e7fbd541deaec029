#!/usr/bin/env node
// Entry point of the `blazar` command (scripts/blazar runs this file on Node 22).
import { buildProgram } from './program.ts'

await buildProgram().parseAsync(process.argv)
