import t from 'tap'
import { silentLogger, type LogEntry } from '@blazar/env'
import { errorFromWire, InvalidTopicNameError, UnknownNamespaceError } from '@blazar/protocol'
import { MetadataStateMachine, encodeMetadataCommand, groupsOfTopic, type MetadataCommand } from '../src/index.ts'

class MetadataLog {
  readonly sm = new MetadataStateMachine({ logger: silentLogger })
  readonly entries: LogEntry[] = []
  run (command: MetadataCommand) {
    const { kind, data } = encodeMetadataCommand(command)
    const entry = { index: this.entries.length + 1, term: 1, kind, data }
    this.entries.push(entry)
    this.sm.apply(entry)
    return this.sm.outcome(entry.index)!
  }

  errorCode (command: MetadataCommand): string | undefined {
    const outcome = this.run(command)
    return outcome.kind === 'rejected' ? outcome.error.code : undefined
  }
}

function cluster (nodes = 3): MetadataLog {
  const log = new MetadataLog()
  for (let i = 1; i <= nodes; i++) log.run({ type: 'register-node', id: `node-${i}`, addresses: [`/ip4/127.0.0.1/tcp/${6650 + i}`], zone: null })
  log.run({ type: 'create-tenant', tenant: 'public', adminRoles: [], allowedClusters: [] })
  log.run({ type: 'create-namespace', namespace: 'public/default' })
  return log
}

t.test('tenants and namespaces: validation with typed errors', async (t) => {
  const log = cluster()
  t.equal(log.errorCode({ type: 'create-tenant', tenant: 'public', adminRoles: [], allowedClusters: [] }), 'TENANT_ALREADY_EXISTS')
  t.equal(log.errorCode({ type: 'create-tenant', tenant: 'bad name', adminRoles: [], allowedClusters: [] }), 'INVALID_NAME')
  t.equal(log.errorCode({ type: 'create-namespace', namespace: 'nobody/ns' }), 'UNKNOWN_TENANT')
  t.equal(log.errorCode({ type: 'create-namespace', namespace: 'public/default' }), 'NAMESPACE_ALREADY_EXISTS')
  t.equal(log.errorCode({ type: 'create-namespace', namespace: 'public' }), 'INVALID_NAME')
  t.equal(log.errorCode({ type: 'delete-tenant', tenant: 'public' }), 'TENANT_NOT_EMPTY')
  t.equal(log.errorCode({ type: 'delete-namespace', namespace: 'public/nope' }), 'UNKNOWN_NAMESPACE')
  t.same(log.sm.namespaces('public'), ['public/default'])
  t.same(log.sm.tenants(), ['public'])
})

t.test('namespace policies: defaults (RF 3, no auto-create, fsync durability) and updates', async (t) => {
  const log = cluster()
  t.match(log.sm.namespacePolicies('public/default'), { replicationFactor: 3, autoTopicCreation: false, defaultNumPartitions: 1, retentionTimeMinutes: 0, retentionSizeMB: 0, deduplication: false, maxMessageSize: 5 * 1024 * 1024, durability: 'majority-fsync' })
  log.run({ type: 'set-namespace-policies', namespace: 'public/default', policies: { autoTopicCreation: true, retentionSizeMB: -1 } })
  t.match(log.sm.namespacePolicies('public/default'), { autoTopicCreation: true, retentionSizeMB: -1, replicationFactor: 3 })
  t.throws(() => log.sm.namespacePolicies('public/nope'), UnknownNamespaceError)
})

t.test('topics: non-partitioned and partitioned, placed on the nodes; partitions only grow', async (t) => {
  const log = cluster(4)
  const created = log.run({ type: 'create-topic', topic: 'orders', partitions: 4 })
  t.equal(created.kind, 'ok')
  if (created.kind === 'ok') t.same(created.placements.map((p) => p.group), [0, 1, 2, 3].map((i) => `persistent://public/default/orders-partition-${i}`))
  log.run({ type: 'create-topic', topic: 'public/default/audit', partitions: 0 })
  t.same(log.sm.topics('public/default'), ['persistent://public/default/audit', 'persistent://public/default/orders'])
  t.same(log.sm.topic('orders-partition-3'), { name: 'persistent://public/default/orders', partitions: 4 })
  t.equal(log.sm.topic('orders-partition-4'), undefined)
  for (const group of groupsOfTopic(log.sm.topic('orders')!)) t.equal(log.sm.placement(group)?.replicas.length, 3, group)
  t.equal(log.sm.placement('persistent://public/default/audit')?.replicas.length, 3)
  const leaders = new Set([0, 1, 2, 3].map((i) => log.sm.placement(`persistent://public/default/orders-partition-${i}`)!.preferredLeader))
  t.equal(leaders.size, 4, 'preferred leaders are spread')

  t.equal(log.errorCode({ type: 'create-topic', topic: 'orders', partitions: 2 }), 'TOPIC_ALREADY_EXISTS')
  t.equal(log.errorCode({ type: 'create-topic', topic: 'x-partition-1', partitions: 0 }), 'INVALID_TOPIC_NAME')
  t.equal(log.errorCode({ type: 'create-topic', topic: 'a b', partitions: 0 }), 'INVALID_TOPIC_NAME')
  t.equal(log.errorCode({ type: 'create-topic', topic: 'acme/ns/t', partitions: 0 }), 'UNKNOWN_TENANT')
  t.equal(log.errorCode({ type: 'create-topic', topic: 'public/ns/t', partitions: 0 }), 'UNKNOWN_NAMESPACE')
  t.equal(log.errorCode({ type: 'update-partitions', topic: 'orders', partitions: 3 }), 'INVALID_PARTITION_COUNT')
  t.equal(log.errorCode({ type: 'update-partitions', topic: 'audit', partitions: 3 }), 'INVALID_ARGUMENT')
  t.equal(log.errorCode({ type: 'update-partitions', topic: 'orders', partitions: 6 }), undefined)
  t.equal(log.sm.topic('orders')?.partitions, 6)
  t.ok(log.sm.placement('persistent://public/default/orders-partition-5'))
  t.equal(log.errorCode({ type: 'delete-namespace', namespace: 'public/default' }), 'NAMESPACE_NOT_EMPTY')
  t.equal(log.errorCode({ type: 'delete-topic', topic: 'orders' }), undefined)
  t.equal(log.sm.placement('persistent://public/default/orders-partition-0'), undefined)
  t.equal(log.errorCode({ type: 'delete-topic', topic: 'orders' }), 'UNKNOWN_TOPIC')
})

t.test('placement needs enough active nodes; nodes hosting replicas cannot be removed', async (t) => {
  const log = cluster(2)
  const outcome = log.run({ type: 'create-topic', topic: 'orders', partitions: 0 })
  t.equal(outcome.kind, 'rejected')
  if (outcome.kind === 'rejected') t.equal(errorFromWire(outcome.error).code, 'NOT_ENOUGH_NODES')
  t.equal(log.sm.topic('orders'), undefined, 'a rejected command changes nothing')
  log.run({ type: 'register-node', id: 'node-3', addresses: [], zone: null })
  t.equal(log.errorCode({ type: 'create-topic', topic: 'orders', partitions: 0 }), undefined)
  t.equal(log.errorCode({ type: 'remove-node', id: 'node-1' }), 'INVALID_ARGUMENT')
  t.equal(log.errorCode({ type: 'remove-node', id: 'node-9' }), 'UNKNOWN_NODE')
  log.run({ type: 'register-node', id: 'node-4', addresses: [], zone: null })
  log.run({ type: 'set-node-state', id: 'node-1', state: 'draining' })
  t.equal(log.errorCode({ type: 'set-placement', group: 'persistent://public/default/orders', replicas: ['node-2', 'node-3', 'node-4'], preferredLeader: 'node-4' }), undefined)
  t.equal(log.errorCode({ type: 'remove-node', id: 'node-1' }), undefined)
  t.equal(log.errorCode({ type: 'set-placement', group: 'persistent://public/default/orders', replicas: ['node-2', 'node-2'], preferredLeader: 'node-2' }), 'INVALID_ARGUMENT')
  t.equal(log.errorCode({ type: 'set-placement', group: 'persistent://public/default/orders', replicas: ['node-2', 'node-3'], preferredLeader: 'node-4' }), 'INVALID_ARGUMENT')
  t.same(log.sm.groupsOf('node-4'), ['persistent://public/default/orders'])
})

t.test('check() refuses what apply would reject, without changing anything', async (t) => {
  const log = cluster()
  t.throws(() => log.sm.check({ type: 'create-topic', topic: 'x-partition-0', partitions: 0 }), InvalidTopicNameError)
  log.sm.check({ type: 'create-topic', topic: 'fine', partitions: 2 })
  t.equal(log.sm.topic('fine'), undefined)
})

t.test('a replica move: the placement names the new node at once, the old one keeps its replica until the move completes', async (t) => {
  const log = cluster(4)
  log.run({ type: 'create-topic', topic: 'moving', partitions: 0 })
  const group = 'persistent://public/default/moving'
  const before = log.sm.placement(group)!
  const from = before.replicas[0]!
  const to = ['node-1', 'node-2', 'node-3', 'node-4'].find((id) => !before.replicas.includes(id))!
  t.equal(log.errorCode({ type: 'move-replica', group, from: to, to: from }), 'INVALID_ARGUMENT', 'from must hold a replica')
  t.equal(log.errorCode({ type: 'move-replica', group, from, to: before.replicas[1]! }), 'INVALID_ARGUMENT', 'to must not hold one')
  t.equal(log.errorCode({ type: 'move-replica', group, from, to: 'node-9' }), 'UNKNOWN_NODE')
  t.equal(log.errorCode({ type: 'move-replica', group: 'persistent://public/default/nope', from, to }), 'UNKNOWN_TOPIC')
  log.run({ type: 'set-node-state', id: to, state: 'draining' })
  t.equal(log.errorCode({ type: 'move-replica', group, from, to }), 'INVALID_ARGUMENT', 'to must be active')
  log.run({ type: 'set-node-state', id: to, state: 'active' })
  t.equal(log.errorCode({ type: 'move-replica', group, from, to }), undefined)
  t.same(log.sm.placement(group)!.replicas, [...before.replicas.filter((id) => id !== from), to].sort())
  if (before.preferredLeader === from) t.equal(log.sm.placement(group)!.preferredLeader, to, 'the preferred leader moves with its replica')
  t.same(log.sm.move(group), { from, to })
  t.ok(log.sm.groupsOf(from).includes(group), 'the leaving node still hosts the group while the move is in flight')
  t.ok(log.sm.groupsOf(to).includes(group))
  t.equal(log.errorCode({ type: 'move-replica', group, from: before.replicas[1]!, to: from }), 'INVALID_ARGUMENT', 'one move per group at a time')
  t.equal(log.errorCode({ type: 'set-placement', group, replicas: before.replicas, preferredLeader: before.preferredLeader }), 'INVALID_ARGUMENT', 'no placement change under a move')
  t.equal(log.errorCode({ type: 'remove-node', id: from }), 'INVALID_ARGUMENT', 'the leaving node cannot be removed before the move completes')
  t.equal(log.errorCode({ type: 'complete-move', group, to: from }), undefined)
  t.same(log.sm.move(group), { from, to }, 'a report for another move changes nothing')
  t.equal(log.errorCode({ type: 'complete-move', group, to }), undefined)
  t.equal(log.sm.move(group), undefined)
  t.notOk(log.sm.groupsOf(from).includes(group), 'the old node no longer hosts it')
  t.equal(log.errorCode({ type: 'remove-node', id: from }), undefined, 'with nothing left on it the node can be removed')
})

t.test('remove-node with force removes a node that still hosts replicas', async (t) => {
  const log = cluster(3)
  log.run({ type: 'create-topic', topic: 'kept', partitions: 0 })
  t.equal(log.errorCode({ type: 'remove-node', id: 'node-1' }), 'INVALID_ARGUMENT')
  t.equal(log.errorCode({ type: 'remove-node', id: 'node-1', force: true }), undefined)
  t.equal(log.sm.node('node-1'), undefined)
})

t.test('snapshot/restore reproduces the state exactly', async (t) => {
  const log = cluster(5)
  log.run({ type: 'create-tenant', tenant: 'acme', adminRoles: ['admin'], allowedClusters: ['local'] })
  log.run({ type: 'create-namespace', namespace: 'acme/payments', policies: { replicationFactor: 5, deduplication: true } })
  log.run({ type: 'create-topic', topic: 'acme/payments/tx', partitions: 3 })
  log.run({ type: 'create-topic', topic: 'moved', partitions: 0 })
  const moved = log.sm.placement('persistent://public/default/moved')!
  const to = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'].find((id) => !moved.replicas.includes(id))!
  t.equal(log.errorCode({ type: 'move-replica', group: 'persistent://public/default/moved', from: moved.replicas[0]!, to }), undefined)
  log.run({ type: 'set-node-state', id: 'node-5', state: 'draining' })
  const copy = new MetadataStateMachine({ logger: silentLogger })
  copy.restore(log.sm.snapshot(), { index: log.entries.length, term: 1, config: { voters: [], learners: [] } })
  t.same(Buffer.from(copy.snapshot()), Buffer.from(log.sm.snapshot()))
  t.match(copy.namespacePolicies('acme/payments'), { replicationFactor: 5, deduplication: true, autoTopicCreation: false })
  t.same(copy.placements(), log.sm.placements())
  t.same(copy.moves(), log.sm.moves())
  t.equal(copy.moves().length, 1)
  t.equal(copy.node('node-5')?.state, 'draining')
})

t.test('malformed entries are rejected deterministically, kind 0 skipped', async (t) => {
  const sm = new MetadataStateMachine({ logger: silentLogger })
  sm.apply({ index: 1, term: 1, kind: 0, data: new Uint8Array() })
  t.equal(sm.outcome(1), undefined)
  sm.apply({ index: 2, term: 1, kind: 1, data: new Uint8Array([0xc1]) })
  t.match(sm.outcome(2), { kind: 'rejected', error: { code: 'MALFORMED_MESSAGE' } })
  sm.apply({ index: 3, term: 1, kind: 7, data: new Uint8Array() })
  t.match(sm.outcome(3), { kind: 'rejected', error: { code: 'MALFORMED_MESSAGE' } })
})
