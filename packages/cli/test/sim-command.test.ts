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

t.test('sim list --workload broker lists only the broker scenarios', async (t) => {
  const { lines } = await run(['sim', 'list', '--workload', 'broker'])
  t.ok(lines.some((line) => line.startsWith('broker-random')))
  t.ok(lines.some((line) => line.startsWith('broker-pause-kill')))
  t.ok(lines.every((line) => line.includes('[broker')), lines.join('\n'))
  t.ok(lines.some((line) => line.startsWith('broker-snapshot-restart')))
})

t.test('sim run --workload broker passes a seed; the deliberate bug fails with a replay naming the workload', async (t) => {
  const pass = await run(['sim', 'run', '--workload', 'broker', '--scenario', 'broker-random', '--seed', '3', '--fault-ms', '8000', '--json'])
  t.match(pass.lines[0], /scenario broker-random seed 3: PASS; 3 nodes, .* sends ok\/fail\/info \d+\/\d+\/\d+/)
  t.equal(JSON.parse(pass.lines[pass.lines.length - 1]).ok, true)
  const fail = await run(['sim', 'run', '--workload', 'broker', '--scenario', 'broker-random', '--seed', '3', '--broker-fault', 'ackBeforeCommit'])
  t.match(fail.lines[0], /FAIL/)
  t.ok(fail.lines.includes('replay: scripts/blazar sim run --workload broker --scenario broker-random --seed 3 --broker-fault ackBeforeCommit'), fail.lines.join('\n'))
  t.equal(fail.exitCode, 1)
  await t.rejects(run(['sim', 'run', '--workload', 'broker', '--scenario', 'random', '--seed', '1']), /runs the kv workload/)
})

t.test('sim sweep --workload broker defaults to broker-random and keeps the summary format', async (t) => {
  const { lines } = await run(['sim', 'sweep', '--workload', 'broker', '--seeds', '2', '--fault-ms', '8000', '--json'])
  const summary = JSON.parse(lines[lines.length - 1])
  t.same(Object.keys(summary), ['seeds', 'passed', 'failed', 'failures', 'traceHash'])
  t.equal(summary.seeds, 2)
  t.equal(summary.failed, 0)
  t.ok(lines.some((line) => line.includes('(broker-random)')))
})
