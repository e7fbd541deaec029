// Runs the official Pulsar Python client (pulsar-client, installed pinned by
// scripts/install-pulsar-python into .tools/pulsar-python) on the scenarios of
// test/pulsar/python/scenarios.py, one process per scenario, with a deadline. A scenario
// checks what it received itself and prints `RESULT <json>`; a failed check exits non-zero.
import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCENARIOS = fileURLToPath(new URL('./python/scenarios.py', import.meta.url))

/** Installs the client once (idempotent) and answers the venv's python. */
export function pulsarPython (): string {
  return execFileSync(`${ROOT}scripts/install-pulsar-python`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
}

export interface ScenarioRun {
  ok: boolean
  result: Record<string, unknown> | null
  /** stderr and stdout, for the test's diagnostics. */
  output: string
}

export interface RunningScenario {
  /** Resolves when the scenario prints `line` (e.g. SIGNAL). */
  printed: (line: string) => Promise<void>
  done: Promise<ScenarioRun>
  /** Kills the scenario's process if it still runs (teardown of a test that failed early). */
  stop: () => void
}

export function startScenario (python: string, scenario: string, args: Record<string, unknown>, timeoutMs = 120_000): RunningScenario {
  const child = spawn(python, [SCENARIOS, scenario, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const watchers: Array<{ line: string, resolve: () => void }> = []
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    for (const watcher of [...watchers]) {
      if (stdout.split('\n').includes(watcher.line)) {
        watchers.splice(watchers.indexOf(watcher), 1)
        watcher.resolve()
      }
    }
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  const done = new Promise<ScenarioRun>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
      const result = line === undefined ? null : JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>
      const output = `exit ${code ?? signal}${signal === 'SIGKILL' ? ` (killed after ${timeoutMs} ms)` : ''}\n${stderr.split('\n').filter((l) => !l.includes(' INFO ')).slice(-40).join('\n')}\n${stdout.slice(-2000)}`
      resolve({ ok: code === 0 && result !== null, result, output })
    })
  })
  return {
    printed: async (line) => {
      if (stdout.split('\n').includes(line)) return
      await new Promise<void>((resolve) => { watchers.push({ line, resolve }) })
    },
    done,
    stop: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  }
}

export async function runScenario (python: string, scenario: string, args: Record<string, unknown>, timeoutMs?: number): Promise<ScenarioRun> {
  return await startScenario(python, scenario, args, timeoutMs).done
}
