// Real-process chaos, seeded: 3 node processes (each in its own network namespace when the
// machine allows it), a 3-partition topic, producers entering through different nodes, a Shared
// group acking everything and an Exclusive subscription created at the start, while a seeded
// schedule of faults runs for about 30 s: kill -9 and restart, SIGSTOP and SIGCONT, network
// isolation for 2-8 s. Then everything heals and the Exclusive subscription is read to the end
// (an end marker per partition) with the default receiver queue. Checked: every acknowledged
// message is read at the ID its send reported, nothing is read that no send could have stored,
// per producer and partition acknowledged messages are stored in send order, the Shared group
// got every acknowledged message, no send was refused with UNKNOWN_TOPIC, every node answers
// /health within 1 s and is `active` in cluster status.
// BLAZAR_CHAOS_SEED picks the seed (default below); scripts/chaos-runs runs many seeds.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Client, type Consumer, type Producer } from '@blazar/client'
import { runningPid, type LocalNode } from '../packages/cli/src/local-cluster/node-processes.ts'
import { startTestCluster, type TestCluster } from './support/broker-nodes.ts'
import { auditRead, missingFrom, sendText, type SendOutcome, type StoredMessage } from './support/chaos-audit.ts'
import { describeFault, faultSchedule, type Fault, type FaultKind } from './support/chaos-schedule.ts'
import { createNetNamespaces, type NetNamespaces } from './support/net-namespaces.ts'

const DEFAULT_SEED = 1
const SEED = seedFromEnvironment(process.env.BLAZAR_CHAOS_SEED)
const NODES = 3
const PARTITIONS = 3
const PRODUCERS = 3
const SHARED_CONSUMERS = 2
/** Acks a Shared consumer has in flight at most. */
const ACK_WINDOW = 100
/** Faults start within this long of the fault phase's start (the last one may end ~10 s later). */
const FAULT_PHASE_MS = 30_000
/** Each producer sends this many messages every SEND_INTERVAL_MS (100 msgs/s each). */
const MESSAGES_PER_TICK = 2
const SEND_INTERVAL_MS = 20
const SEND_TIMEOUT_MS = 20_000
/** Deadlines after the faults end. */
const SETTLE_MS = SEND_TIMEOUT_MS + 10_000
const MARKER_TIMEOUT_MS = 30_000
const AUDIT_READ_MS = 60_000
const AUDIT_IDLE_MS = 20_000
const SHARED_WAIT_MS = 20_000
const HEALTH_TIMEOUT_MS = 1_000
const HEALTH_WINDOW_MS = 10_000
const ACTIVE_WAIT_MS = 30_000
const SETUP_MS = 60_000
const CLOSE_MS = 10_000
/**
 * The whole test's bound; every wait above has its own deadline well inside it. Past it the
 * process exits (its exit handlers kill the nodes and delete the namespaces) before tap's own
 * timeout would kill it with a signal that skips them.
 */
const TEST_BUDGET_MS = 300_000

const topic = 'persistent://public/default/chaos'
const rerun = `BLAZAR_CHAOS_SEED=${SEED} scripts/chaos-runs 1   (or: BLAZAR_CHAOS_SEED=${SEED} node_modules/.bin/tap --type-strip-only --disable-coverage test/chaos.test.ts)`

function seedFromEnvironment (raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_SEED
  const seed = Number(raw)
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`BLAZAR_CHAOS_SEED must be a non-negative integer, got ${raw}`)
  return seed
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }
async function within<T> (ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not done within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : String(error)
}

t.setTimeout(TEST_BUDGET_MS + 30_000)

t.test(`chaos with seed ${SEED}`, async (t) => {
  const started = Date.now()
  const elapsed = (): string => `+${((Date.now() - started) / 1000).toFixed(1)}s`
  const timeline: string[] = []
  const note = (line: string): void => {
    timeline.push(`${elapsed()} ${line}`)
    t.comment(`${elapsed()} ${line}`)
  }
  let network: NetNamespaces | null = null
  let kinds: FaultKind[] = ['kill9', 'pause', 'isolate']
  try {
    network = createNetNamespaces(NODES)
    note(`network isolation ON: nodes in namespaces ${network.nodes.map((node) => `${node.netns}=${node.host}`).join(', ')}`)
  } catch (error) {
    kinds = ['kill9', 'pause']
    note(`NETWORK ISOLATION OFF, running kill -9 and SIGSTOP faults only: ${(error as Error).message}`)
    t.pass('network isolation faults', { skip: (error as Error).message })
  }
  const schedule = faultSchedule(SEED, { phaseMs: FAULT_PHASE_MS, nodes: NODES, kinds })
  t.comment(`seed ${SEED}: ${schedule.length} faults (${kinds.join(', ')})`)

  let cluster: TestCluster | null = null
  const clients: Client[] = []
  /** Cleared at teardown, so that loops still running after a failed step end. */
  let running = true
  const paused = new Set<number>()
  const failureReport = (print: (line: string) => void): void => {
    print(`FAILED with seed ${SEED}; fault schedule:\n${schedule.map((fault) => `  ${describeFault(fault)}`).join('\n')}`)
    print(`timeline:\n${timeline.map((line) => `  ${line}`).join('\n')}`)
    print(`rerun: ${rerun}`)
    if (cluster !== null) print(`node logs kept in ${keepLogs(cluster)}`)
  }
  const watchdog = setTimeout(() => {
    failureReport((line) => { console.error(line) })
    console.error(`the chaos test ran over its ${TEST_BUDGET_MS} ms budget: exiting`)
    process.exit(1)
  }, TEST_BUDGET_MS)
  t.teardown(async () => {
    running = false
    if (!t.passing()) failureReport((line) => { t.comment(line) })
    try { network?.healAll() } catch (error) { t.comment(`heal at teardown: ${String(error)}`) }
    for (const index of paused) await cluster?.resume(index).catch(() => {})
    await within(CLOSE_MS, 'closing the clients', Promise.all(clients.map(async (client) => { await client.close() }))).catch((error: unknown) => { t.comment(String(error)) })
    await cluster?.stop()
    network?.remove()
    clearTimeout(watchdog)
  })

  cluster = await startTestCluster('chaos', NODES, network?.nodes)
  const nodes = cluster
  note(`cluster of ${NODES} up`)
  const connect = async (serviceUrl: string | string[]): Promise<Client> => {
    const client = await Client.create({ serviceUrl })
    clients.push(client)
    return client
  }
  const setupDeadline = Date.now() + SETUP_MS
  const setup = async <T>(what: string, work: Promise<T>): Promise<T> => await within(setupDeadline - Date.now(), `setup (${what})`, work)
  const admin = await setup('admin client', connect(nodes.addresses))
  // An admin write is not retried by the client on OUTCOME_UNKNOWN (a metadata leader change
  // right after the cluster formed); creating the test's own topic again is safe.
  const createTopic = async (): Promise<void> => {
    try {
      await admin.admin.topics.create(topic, PARTITIONS)
    } catch (error) {
      if (codeOf(error) !== 'OUTCOME_UNKNOWN') throw error
      await admin.admin.topics.create(topic, PARTITIONS).catch((again: unknown) => { if (codeOf(again) !== 'TOPIC_ALREADY_EXISTS') throw again })
    }
  }
  await setup('create the topic', createTopic())
  const audit = await setup('Exclusive subscription', admin.subscribe({ topic, subscription: 'chaos-audit', subscriptionType: 'Exclusive', subscriptionInitialPosition: 'Earliest' }))
  const sharedReceived = new Set<string>()
  let stopShared = false
  const sharedConsumers = await setup('Shared subscription', Promise.all(Array.from({ length: SHARED_CONSUMERS }, async (_, i) => {
    const client = await connect(nodes.addresses[(i + 1) % NODES] as string)
    return await client.subscribe({ topic, subscription: 'chaos-shared', subscriptionType: 'Shared', subscriptionInitialPosition: 'Earliest', consumerName: `shared-${i}` })
  })))
  const sharedLoops = sharedConsumers.map(async (consumer) => { await consumeShared(consumer, sharedReceived, () => stopShared || !running) })
  const producers: Producer[] = await setup('producers', Promise.all(Array.from({ length: PRODUCERS }, async (_, i) => {
    const client = await connect(nodes.addresses[i % NODES] as string)
    return await client.createProducer({ topic, producerName: `chaos-p${i}`, sendTimeoutMs: SEND_TIMEOUT_MS })
  })))
  note(`topic with ${PARTITIONS} partitions, ${PRODUCERS} producers, ${SHARED_CONSUMERS} Shared consumers, 1 Exclusive subscription`)

  const outcomes: SendOutcome[] = []
  const sends: Array<Promise<void>> = []
  let producing = true
  const producerLoops = producers.map(async (producer, p) => {
    for (let seq = 0; producing && running;) {
      for (let k = 0; k < MESSAGES_PER_TICK; k++, seq++) {
        const outcome: SendOutcome = { producer: p, seq, text: sendText(p, seq), id: null, error: null }
        outcomes.push(outcome)
        sends.push(producer.send({ data: outcome.text }).then((id) => { outcome.id = id }, (error: unknown) => { outcome.error = codeOf(error) }))
      }
      await sleep(SEND_INTERVAL_MS)
    }
  })

  const faultErrors: string[] = []
  const phaseStart = Date.now()
  for (const fault of schedule) {
    await sleep(phaseStart + fault.atMs - Date.now())
    note(`fault ${describeFault(fault)}`)
    try {
      await inject(fault)
    } catch (error) {
      faultErrors.push(`${describeFault(fault)}: ${(error as Error).message}`)
      note(`fault failed: ${(error as Error).message}`)
    }
  }
  producing = false
  await Promise.all(producerLoops)
  note(`faults over, ${outcomes.length} sends issued; waiting for them to settle`)
  t.same(faultErrors, [], 'every fault was injected and healed (restarted nodes came up)')

  async function inject (fault: Fault): Promise<void> {
    switch (fault.kind) {
      case 'kill9':
        await nodes.kill9(fault.node)
        await sleep(fault.durationMs)
        await nodes.restart(fault.node)
        break
      case 'pause':
        await nodes.pause(fault.node)
        paused.add(fault.node)
        await sleep(fault.durationMs)
        await nodes.resume(fault.node)
        paused.delete(fault.node)
        break
      case 'isolate':
        network?.isolate(fault.node)
        await sleep(fault.durationMs)
        network?.heal(fault.node)
        break
    }
    note(`healed node${fault.node + 1}`)
  }

  const settled = await Promise.race([Promise.all(sends).then(() => true), sleep(SETTLE_MS).then(() => false)])
  const unsettled = outcomes.filter((outcome) => outcome.id === null && outcome.error === null).length
  t.ok(settled, `every send settled within ${SETTLE_MS} ms of the faults ending (${unsettled} did not)`)
  const acknowledged = outcomes.filter((outcome) => outcome.id !== null)
  const failures = new Map<string, number>()
  for (const outcome of outcomes) if (outcome.error !== null) failures.set(outcome.error, (failures.get(outcome.error) ?? 0) + 1)
  note(`${acknowledged.length} of ${outcomes.length} sends acknowledged; failed: ${JSON.stringify(Object.fromEntries(failures))}`)
  t.equal(failures.get('UNKNOWN_TOPIC') ?? 0, 0, 'no send was refused with UNKNOWN_TOPIC')

  const markers = await Promise.all(Array.from({ length: PARTITIONS }, async (_, partition) => {
    try {
      const marked = (async () => {
        const producer = await admin.createProducer({ topic: `${topic}-partition-${partition}`, sendTimeoutMs: MARKER_TIMEOUT_MS })
        const id = await producer.send({ data: `end-${partition}` })
        await producer.close()
        return id
      })()
      return `partition ${partition}: ${(await within(MARKER_TIMEOUT_MS + 5_000, `end marker on partition ${partition}`, marked)).toString()}`
    } catch (error) {
      return `partition ${partition}: FAILED ${codeOf(error)}`
    }
  }))
  note(`end markers: ${markers.join(', ')}`)

  const read = await readToEnd(audit)
  const readMs = Date.now()
  note(`audit read: ${read.messages.length} messages; end reached on partitions [${[...read.ended].join(', ')}]`)
  if (read.ended.size < PARTITIONS) t.comment(`subscriptions: ${JSON.stringify((await within(5_000, 'topic stats', admin.admin.topics.stats(topic)).catch(codeOf)))}`)
  t.equal(read.ended.size, PARTITIONS, 'the Exclusive subscription was read to the end marker of every partition')
  const findings = auditRead(outcomes, read.messages)
  t.same(findings.notReadAtId.slice(0, 5), [], `every acknowledged message is read at the ID its send reported (${findings.notReadAtId.length} not)`)
  t.same(findings.phantoms.slice(0, 5), [], `nothing read that no send could have stored (${findings.phantoms.length} phantoms; ${findings.unknownOutcomeStored} failed sends with an unknown outcome were stored)`)
  // Deduplication is off by default (as in Pulsar), so a resent batch may be stored twice.
  t.comment(`${findings.duplicates.length} messages stored more than once (deduplication is off): ${JSON.stringify(findings.duplicates.slice(0, 3))}`)
  t.same(findings.orderViolations.slice(0, 5), [], `per producer and partition, acknowledged messages are stored in send order (${findings.orderViolations.length} out of order)`)

  const sharedDeadline = readMs + SHARED_WAIT_MS
  const sharedBefore = sharedReceived.size
  while (missingFrom(outcomes, sharedReceived).length > 0 && Date.now() < sharedDeadline) await sleep(200)
  stopShared = true
  await Promise.all(sharedLoops)
  const sharedMissing = missingFrom(outcomes, sharedReceived)
  note(`Shared group: ${sharedReceived.size} distinct IDs received (${sharedBefore} when the audit read ended)`)
  if (sharedMissing.length > 0) t.comment(`subscriptions: ${JSON.stringify((await within(5_000, 'topic stats', admin.admin.topics.stats(topic)).catch(codeOf)))}`)
  t.same(sharedMissing.slice(0, 5), [], `the Shared group received every acknowledged message (${sharedMissing.length} of ${acknowledged.length} missing)`)

  const exited = (await Promise.all(nodes.nodes.map(async (node) => await runningPid(node) === null ? `node${node.index}: ${lastError(node)}` : null))).filter((line) => line !== null)
  t.same(exited, [], 'no node process exited on its own')
  const unhealthy = await Promise.all(nodes.nodes.map(async (node) => await answersHealth(node.host ?? '127.0.0.1', node.httpPort) ? null : `node${node.index}`))
  t.same(unhealthy.filter((name) => name !== null), [], `every node answers /health within ${HEALTH_TIMEOUT_MS} ms`)
  const states = await nodeStates(admin, nodes)
  t.same(states.filter((state) => !state.endsWith('=active')), [], `every node is active in cluster status (${states.join(', ')})`)
  note('checks done')

  async function readToEnd (consumer: Consumer): Promise<{ messages: StoredMessage[], ended: Set<number> }> {
    const messages: StoredMessage[] = []
    const seen = new Set<string>()
    const ended = new Set<number>()
    const deadline = Date.now() + AUDIT_READ_MS
    let progress = Date.now()
    while (ended.size < PARTITIONS && Date.now() < deadline && Date.now() - progress < AUDIT_IDLE_MS) {
      const message = await consumer.receive(1_000).catch(() => null)
      if (message === null) continue
      const key = message.messageId.toString()
      if (!seen.has(key)) {
        seen.add(key)
        progress = Date.now()
        const text = new TextDecoder().decode(message.data)
        if (text.startsWith('end-')) ended.add(message.messageId.partition)
        else messages.push({ id: message.messageId, text })
      }
    }
    return { messages, ended }
  }
})

/** Receives and acks everything; acks are not awaited one by one (at most ACK_WINDOW in flight), as an application using acknowledgeAsync would. */
async function consumeShared (consumer: Consumer, received: Set<string>, stopped: () => boolean): Promise<void> {
  let acks: Array<Promise<void>> = []
  while (!stopped()) {
    const message = await consumer.receive(500).catch(() => null)
    if (message === null) continue
    received.add(message.messageId.toString())
    acks.push(consumer.acknowledge(message).catch(() => {}))
    if (acks.length >= ACK_WINDOW) {
      await Promise.all(acks)
      acks = []
    }
  }
  await Promise.all(acks)
}

/** Whether the node answers /health within HEALTH_TIMEOUT_MS, trying for HEALTH_WINDOW_MS (a stuck node never does). */
async function answersHealth (host: string, port: number): Promise<boolean> {
  const deadline = Date.now() + HEALTH_WINDOW_MS
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
      if (response.ok) return true
    } catch {
      // no answer in time
    }
    await sleep(500)
  }
  return false
}

/** `node<i>=<state>` for every node, polling until all are active or ACTIVE_WAIT_MS has passed. */
async function nodeStates (admin: Client, cluster: TestCluster): Promise<string[]> {
  const deadline = Date.now() + ACTIVE_WAIT_MS
  for (;;) {
    let states: string[]
    try {
      const status = await within(5_000, 'cluster status', admin.admin.cluster.status())
      states = cluster.addresses.map((address, i) => `node${i + 1}=${status.nodes.find((node) => address.endsWith(`/p2p/${node.id}`))?.state ?? 'missing'}`)
    } catch (error) {
      states = [`cluster status failed: ${codeOf(error)}`]
    }
    if (states.every((state) => state.endsWith('=active')) || Date.now() >= deadline) return states
    await sleep(1_000)
  }
}

/** The last error line of the node's log (what an exited node died of). */
function lastError (node: LocalNode): string {
  try {
    const lines = readFileSync(`${node.dir}.log`, 'utf8').split('\n')
    return lines.findLast((line) => /^\w*Error\b/.test(line)) ?? lines.findLast((line) => line.trim().length > 0) ?? 'empty log'
  } catch {
    return 'no log'
  }
}

function keepLogs (cluster: TestCluster): string {
  const kept = mkdtempSync(join(tmpdir(), `blazar-chaos-seed${SEED}-logs-`))
  for (const node of cluster.nodes) {
    try { copyFileSync(`${node.dir}.log`, join(kept, `node${node.index}.log`)) } catch { /* no log written */ }
  }
  return kept
}
