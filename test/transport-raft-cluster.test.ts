// Three Raft groups on three node processes over the libp2p Raft network (loopback TCP):
// leaders are elected and entries replicate; kill -9 of one process gives its groups new
// leaders; the restarted process (same identity, same port, Raft state recovered from its
// fsynced file) rejoins and catches up. Host processes: packages/transport/test/fixtures/raft-host.ts.
import t from 'tap'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const HOST_SCRIPT = join(import.meta.dirname, '..', 'packages', 'transport', 'test', 'fixtures', 'raft-host.ts')
const GROUPS = ['g0', 'g1', 'g2']
/** Bound on every wait below; the whole test stays well inside tap's timeout. */
const WAIT_MS = 30_000

interface GroupStatus { role: string, term: number, leader: string | null, commitIndex: number, quiesced: boolean, applied: string[] }
type Event = Record<string, unknown>

class Host {
  readonly child: ChildProcess
  private readonly events: Event[] = []
  private readonly waiters: Array<() => void> = []
  id = ''
  addresses: string[] = []
  exited = false

  constructor (dataDir: string, listen: string, extraArgs: string[]) {
    this.child = spawn(process.execPath, [HOST_SCRIPT, '--data-dir', dataDir, '--listen', listen, '--durable', ...extraArgs], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.child.on('exit', () => { this.exited = true; this.wake() })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.events.push(JSON.parse(line) as Event)
      this.wake()
    })
  }

  send (command: Event): void {
    this.child.stdin?.write(JSON.stringify(command) + '\n')
  }

  /** The first not-yet-taken event matching `match`, waiting up to WAIT_MS. */
  async take (what: string, match: (event: Event) => boolean): Promise<Event> {
    const deadline = Date.now() + WAIT_MS
    for (;;) {
      const at = this.events.findIndex(match)
      if (at >= 0) return this.events.splice(at, 1)[0]
      if (this.exited) throw new Error(`host exited while waiting for ${what}`)
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  async ready (): Promise<void> {
    const event = await this.take('ready', (e) => e.type === 'ready')
    this.id = event.id as string
    this.addresses = event.addresses as string[]
  }

  async status (): Promise<Record<string, GroupStatus>> {
    this.send({ cmd: 'status', detail: true })
    return (await this.take('status', (e) => e.type === 'status')).groups as Record<string, GroupStatus>
  }

  async propose (group: string, data: string): Promise<Event> {
    const req = `${group}:${data}`
    this.send({ cmd: 'propose', group, data, req })
    return await this.take(`proposal ${req}`, (e) => e.type === 'proposed' && e.req === req)
  }

  async exit (): Promise<void> {
    if (!this.exited) await new Promise((resolve) => { this.child.once('exit', resolve) })
  }

  private wake (): void {
    for (const waiter of this.waiters.splice(0)) waiter()
  }
}

/** Polls the hosts' statuses until `check` holds for all of them (bounded by WAIT_MS). */
async function until (what: string, hosts: Host[], check: (statuses: Array<Record<string, GroupStatus>>) => boolean): Promise<Array<Record<string, GroupStatus>>> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const statuses = await Promise.all(hosts.map(async (host) => await host.status()))
    if (check(statuses)) return statuses
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(statuses)}`)
    await new Promise((resolve) => { setTimeout(resolve, 200) })
  }
}

/** The leader every host agrees on for `group`, if there is one. */
function agreedLeader (statuses: Array<Record<string, GroupStatus>>, group: string): string | null {
  const leaders = new Set(statuses.map((s) => s[group]?.leader ?? null))
  const [leader] = leaders
  return leaders.size === 1 && leader !== null && statuses.some((s) => s[group].role === 'leader') ? leader : null
}

async function proposeEverywhere (t: { equal (found: unknown, wanted: unknown, message: string): unknown }, hosts: Host[], leaders: Map<string, string>, tag: string): Promise<void> {
  for (const group of GROUPS) {
    const leader = hosts.find((h) => h.id === leaders.get(group))
    if (leader === undefined) throw new Error(`no live leader for ${group}`)
    const answer = await leader.propose(group, `${tag}-${group}`)
    t.equal(answer.ok, true, `${tag}: ${group} proposal committed on its leader`)
  }
}

for (const quiesce of [false, true]) {
  t.test(`three groups on three processes (quiesce ${quiesce ? 'on' : 'off'}): elect, replicate, survive kill -9, rejoin after restart`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'blazar-raft-cluster-'))
    const spawned: Host[] = []
    t.teardown(() => {
      for (const host of spawned) if (!host.exited) host.child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
    const start = async (i: number, listen: string): Promise<Host> => {
      const host = new Host(join(dir, `node-${i}`), listen, quiesce ? ['--quiesce'] : [])
      spawned.push(host)
      await host.ready()
      return host
    }
    const hosts = [await start(0, '/ip4/127.0.0.1/tcp/0'), await start(1, '/ip4/127.0.0.1/tcp/0'), await start(2, '/ip4/127.0.0.1/tcp/0')]
    const members = hosts.map((h) => ({ id: h.id, addresses: h.addresses }))
    for (const host of hosts) host.send({ cmd: 'host', members, groups: GROUPS })

    let statuses = await until('a leader per group', hosts, (s) => GROUPS.every((g) => agreedLeader(s, g) !== null))
    const leaders = new Map(GROUPS.map((g) => [g, agreedLeader(statuses, g) as string]))
    t.pass(`leaders: ${GROUPS.map((g) => `${g}=${hosts.findIndex((h) => h.id === leaders.get(g))}`).join(' ')}`)
    await proposeEverywhere(t, hosts, leaders, 'a')
    await until('a-entries applied on all three', hosts, (s) => s.every((st) => GROUPS.every((g) => st[g]?.applied.includes(`a-${g}`))))
    if (quiesce) {
      // Idle groups go quiet; a kill must then be noticed through the node-level heartbeat.
      await until('every group quiesced on every node', hosts, (s) => s.every((st) => GROUPS.every((g) => st[g]?.quiesced)))
      t.pass('all groups quiesced')
    }

    // kill -9 the leader of g0
    const victimIndex = hosts.findIndex((h) => h.id === leaders.get('g0'))
    const victim = hosts[victimIndex]
    const victimPort = victim.addresses[0].split('/')[4]
    victim.child.kill('SIGKILL')
    await victim.exit()
    t.ok(victim.exited, 'victim process is gone')
    const survivors = hosts.filter((h) => h !== victim)
    statuses = await until('new leaders among the survivors', survivors, (s) =>
      GROUPS.every((g) => { const l = agreedLeader(s, g); return l !== null && l !== victim.id }))
    for (const g of GROUPS) leaders.set(g, agreedLeader(statuses, g) as string)
    t.not(leaders.get('g0'), victim.id, 'g0 has a new leader')
    await proposeEverywhere(t, survivors, leaders, 'b')
    await until('b-entries applied on the survivors', survivors, (s) => s.every((st) => GROUPS.every((g) => st[g]?.applied.includes(`b-${g}`))))

    // restart with the same data dir (same identity) and the same port
    const restarted = await start(victimIndex, `/ip4/127.0.0.1/tcp/${victimPort}`)
    t.equal(restarted.id, victim.id, 'same PeerId after restart')
    restarted.send({ cmd: 'host', members, groups: GROUPS })
    const all = [...survivors, restarted]
    statuses = await until('leaders agreed by all three', all, (s) => GROUPS.every((g) => agreedLeader(s, g) !== null))
    for (const g of GROUPS) leaders.set(g, agreedLeader(statuses, g) as string)
    await proposeEverywhere(t, all, leaders, 'c')
    await until('a-, b- and c-entries applied on all three', all, (s) => s.every((st) => GROUPS.every((g) =>
      ['a', 'b', 'c'].every((tag) => st[g]?.applied.includes(`${tag}-${g}`)))))
    t.pass('the restarted node rejoined and replicates')
    for (const host of all) host.child.stdin?.end()
  })
}
