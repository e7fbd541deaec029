// A tiny interpreter for scenario scripts that read like the Raft paper. One command per line,
// `#` starts a comment. Nodes are named 1..N. Commands:
//   add-nodes N [opt=value ...]    a new cluster of N voters (opts: RaftConfig fields, fault=<RaftFaults key>, seed=S)
//   add-node ID [opt=value ...]    a node with empty storage and no bootstrap (to be added as a learner)
//   campaign N                     node N starts an election now
//   stabilize [ms]                 let the cluster run (default 60 ms of virtual time)
//   run MS                         advance virtual time by MS
//   partition 1 2 | 3 4 5          only nodes in the same group can talk; `heal` reconnects all
//   block A B TYPE | unblock       drop messages of TYPE (or *) from A to B
//   block-entries A B I            appends from A to B lose their entries at index >= I
//   set-log N t1 t2 .. [term=T]    replace N's storage by a synced log with these entry terms, restart N
//   crash N | restart N            crash loses unsynced writes; restart recovers from storage
//   slow-disk N MS                 node N's later syncs take MS of virtual time
//   propose N|@ VALUE [as LABEL]   (@ = the current leader) proposals, reads and membership calls are recorded under LABEL
//   read N LABEL | transfer N TO | add-learner N ID | promote N ID | remove N ID
//   peer-down N P | unquiesce N     host hints for quiescence; mark: remember the delivered-message count
//   expect CONDITION               assert now;  until CONDITION: run in 1 ms steps until it holds
// Conditions: leader N | leader-among a b .. | no-leader | role N R | term N T | commit N C | applied N C | terms N t1 t2 ..
//   | first N I | value N K V | no-value N K | result LABEL ok|pending|CODE | voters N a b .. | learners N a ..
//   | violations | no-violations | corrupted N | quiesced N [true|false] | delivered-since-mark COUNT
import type { Test } from 'tap'
import type { RaftConfig, RaftFaults } from '../../src/index.ts'
import { Cluster, encoder, testConfig } from './cluster.ts'

interface Outcome { state: 'pending' | 'ok' | 'error', code?: string }

export class ScriptRunner {
  cluster = new Cluster()
  private readonly outcomes = new Map<string, Outcome>()
  private options: Partial<RaftConfig> = {}
  private faults: RaftFaults = {}
  private readonly t: Test
  /** Delivered-message count at the last `mark` command. */
  private mark = 0

  constructor (t: Test) {
    this.t = t
  }

  async run (script: string): Promise<void> {
    const lines = script.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/#.*$/, '').trim()
      if (line === '') continue
      await this.command(line, i + 1)
    }
  }

  private async command (line: string, lineNo: number): Promise<void> {
    const [name, ...args] = line.split(/\s+/)
    const c = this.cluster
    switch (name) {
      case 'add-nodes': {
        this.parseOptions(args.slice(1))
        const count = Number(args[0])
        const voters = Array.from({ length: count }, (_, i) => String(i + 1))
        for (const id of voters) c.add(id, { voters, learners: [] }, this.options, this.faults)
        await c.run(5)
        return
      }
      case 'add-node':
        c.add(args[0], undefined, { ...this.options, ...this.optionsFrom(args.slice(1)) }, this.faults)
        await c.run(5)
        return
      case 'campaign': c.get(args[0]).node.campaign(); await c.run(0); return
      case 'stabilize': await c.run(args[0] === undefined ? 60 : Number(args[0])); return
      case 'run': await c.run(Number(args[0])); return
      case 'partition': c.partition(args.join(' ').split('|').map((group) => group.trim().split(/\s+/).filter((id) => id !== ''))); return
      case 'heal': c.partition(undefined); return
      case 'block': c.block(args[0], args[1], args[2]); return
      case 'block-entries': c.blockEntries(args[0], args[1], Number(args[2])); return
      case 'unblock': c.unblockAll(); return
      case 'set-log': {
        const term = args.find((arg) => arg.startsWith('term='))
        const terms = args.slice(1).filter((arg) => !arg.includes('=')).map(Number)
        await c.setLog(args[0], terms, term === undefined ? Math.max(0, ...terms) : Number(term.slice(5)))
        await c.run(2)
        return
      }
      case 'peer-down': c.get(args[0]).node.peerDown(args[1]); await c.run(0); return
      case 'unquiesce': c.get(args[0]).node.unquiesce(); await c.run(0); return
      case 'slow-disk': c.get(args[0]).storage.setSyncLatency(Number(args[1])); return
      case 'crash': c.crash(args[0]); return
      case 'restart': c.restart(args[0]); await c.run(5); return
      case 'propose': {
        const label = args[2] === 'as' ? args[3] : args[1]
        const at = args[0] === '@' ? c.leaders()[0] ?? '1' : args[0]
        this.track(label, c.get(at).node.propose(encoder.encode(args[1])))
        await c.run(0)
        return
      }
      case 'read': this.track(args[1], c.get(args[0]).node.readIndex()); await c.run(0); return
      case 'transfer': this.track(`transfer-${args[1]}`, c.get(args[0]).node.transferLeader(args[1])); await c.run(0); return
      case 'transfer-again': this.track(`transfer-again-${args[1]}`, c.get(args[0]).node.transferLeader(args[1])); await c.run(0); return
      case 'add-learner': this.track(`add-${args[1]}`, c.get(args[0]).node.addLearner(args[1])); await c.run(0); return
      case 'promote': this.track(`promote-${args[1]}`, c.get(args[0]).node.promoteLearner(args[1])); await c.run(0); return
      case 'remove': this.track(`remove-${args[1]}`, c.get(args[0]).node.removeMember(args[1])); await c.run(0); return
      case 'force-recover': this.track(`recover-${args[0]}`, c.get(args[0]).node.forceSingleVoter()); await c.run(0); return
      case 'mark': this.mark = c.delivered; return
      case 'expect': {
        const { ok, actual } = this.evaluate(args)
        this.t.ok(ok, `line ${lineNo}: ${line}${ok ? '' : ` (actual: ${actual})`}`)
        return
      }
      case 'until': {
        const done = await c.runUntil(() => this.evaluate(args).ok)
        this.t.ok(done, `line ${lineNo}: ${line}${done ? '' : ` (actual: ${this.evaluate(args).actual})`}`)
        return
      }
      default:
        throw new Error(`line ${lineNo}: unknown command ${name}`)
    }
  }

  private parseOptions (args: string[]): void {
    this.options = { ...testConfig, ...this.optionsFrom(args) }
    this.faults = {}
    for (const arg of args) {
      const [key, value] = arg.split('=')
      if (key === 'fault') this.faults[value as keyof RaftFaults] = true
      if (key === 'seed') this.cluster = new Cluster(Number(value))
    }
  }

  private optionsFrom (args: string[]): Partial<RaftConfig> {
    const options: Record<string, unknown> = {}
    for (const arg of args) {
      const [key, value] = arg.split('=')
      if (key === 'fault' || key === 'seed' || value === undefined) continue
      options[key] = value === 'true' ? true : value === 'false' ? false : Number(value)
    }
    return options as Partial<RaftConfig>
  }

  private track (label: string, promise: Promise<unknown>): void {
    const outcome: Outcome = { state: 'pending' }
    this.outcomes.set(label, outcome)
    promise.then(() => { outcome.state = 'ok' }, (error: { code?: string }) => {
      outcome.state = 'error'
      outcome.code = error.code ?? String(error)
    })
  }

  private evaluate (args: string[]): { ok: boolean, actual: string } {
    const c = this.cluster
    const [what, ...rest] = args
    const status = (id: string) => c.get(id).node.status()
    const check = (actual: unknown, expected: string): { ok: boolean, actual: string } =>
      ({ ok: String(actual) === expected, actual: String(actual) })
    switch (what) {
      case 'leader': {
        const leaders = c.leaders()
        return { ok: leaders.length === 1 && leaders[0] === rest[0], actual: leaders.join(',') || 'none' }
      }
      case 'leader-among': {
        const leaders = c.leaders()
        return { ok: leaders.length === 1 && rest.includes(leaders[0]), actual: leaders.join(',') || 'none' }
      }
      case 'no-leader': return { ok: c.leaders().length === 0, actual: c.leaders().join(',') }
      case 'role': return check(status(rest[0]).role, rest[1])
      case 'term': return check(status(rest[0]).term, rest[1])
      case 'commit': return check(status(rest[0]).commitIndex, rest[1])
      case 'applied': return check(status(rest[0]).appliedIndex, rest[1])
      case 'terms': return check(c.get(rest[0]).storage.entriesForInspection().map((e) => e.term).join(' '), rest.slice(1).join(' '))
      case 'first': return check(c.get(rest[0]).storage.firstIndex(), rest[1])
      case 'value': return check(c.get(rest[0]).sm.values.get(rest[1]), rest[2])
      case 'no-value': return check(c.get(rest[0]).sm.values.has(rest[1]), 'false')
      case 'result': {
        const outcome = this.outcomes.get(rest[0])
        const actual = outcome === undefined ? 'unknown' : outcome.state === 'error' ? outcome.code! : outcome.state
        return check(actual, rest[1])
      }
      case 'voters': return check(status(rest[0]).config.voters.join(' '), rest.slice(1).join(' '))
      case 'learners': return check(status(rest[0]).config.learners.join(' '), rest.slice(1).join(' '))
      case 'violations': return { ok: c.violations.length > 0, actual: 'none' }
      case 'no-violations': return { ok: c.violations.length === 0, actual: c.violations.join('; ') }
      case 'corrupted': return check(status(rest[0]).corrupted, 'true')
      case 'quiesced': return check(status(rest[0]).quiesced, rest[1] ?? 'true')
      case 'delivered-since-mark': return check(c.delivered - this.mark, rest[0])
      default: throw new Error(`unknown condition ${what}`)
    }
  }
}

export async function scenario (t: Test, script: string): Promise<ScriptRunner> {
  const runner = new ScriptRunner(t)
  await runner.run(script)
  return runner
}
