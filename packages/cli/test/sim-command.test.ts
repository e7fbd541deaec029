import t from 'tap'
import { buildProgram } from '../src/index.ts'

async function run (args: string[]): Promise<{ lines: string[], exitCode: number | string | null | undefined }> {
  const lines: string[] = []
  const log = console.log
  const previousExit = process.exitCode
  console.log = (...parts: unknown[]) => { lines.push(parts.join(' ')) }
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'blazar', ...args])
  } finally {
    console.log = log
  }
  const exitCode = process.exitCode
  process.exitCode = previousExit
  return { lines, exitCode }
}

t.test('sim list names the scenarios', async (t) => {
  const { lines } = await run(['sim', 'list'])
  for (const name of ['random', 'figure7', 'figure8', 'vote-crash', 'pause-kill']) t.ok(lines.some((line) => line.startsWith(name)), name)
})

t.test('sim run passes a scenario seed and prints its trace hash; --json ends with the result', async (t) => {
  const { lines, exitCode } = await run(['sim', 'run', '--scenario', 'figure8', '--seed', '3', '--json'])
  t.match(lines[0], /scenario figure8 seed 3: PASS/)
  t.match(lines[1], /^trace hash [0-9a-f]{64}$/)
  t.equal(JSON.parse(lines[lines.length - 1]).ok, true)
  t.not(exitCode, 1)
})

t.test('a failing seed prints the command that replays it and exits 1', async (t) => {
  const { lines, exitCode } = await run(['sim', 'run', '--scenario', 'figure8', '--seed', '3', '--raft-fault', 'commitPreviousTermByCounting'])
  t.match(lines[0], /FAIL/)
  t.ok(lines.some((line) => line === 'replay: scripts/blazar sim run --scenario figure8 --seed 3 --raft-fault commitPreviousTermByCounting'), lines.join('\n'))
  t.equal(exitCode, 1)
})

t.test('sim sweep --json ends with the summary object', async (t) => {
  const { lines } = await run(['sim', 'sweep', '--scenario', 'figure8', '--from', '1', '--seeds', '4', '--json'])
  const summary = JSON.parse(lines[lines.length - 1])
  t.same(Object.keys(summary), ['seeds', 'passed', 'failed', 'failures', 'traceHash'])
  t.equal(summary.seeds, 4)
  t.equal(summary.failed, 0)
})
