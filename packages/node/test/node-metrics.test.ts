// NodeMetrics: Pulsar-named topic series from the partitions this node leads, bounded by
// metricsMaxTopics (above it, per namespace only, summed), per-group Raft series under the same
// bound, leader-change and election counting, and the storage/transport counters.
import t from 'tap'
import { PartitionStateMachine } from '@blazar/broker'
import { VirtualClock, silentLogger } from '@blazar/env'
import { CompressionCodecs, encodeBatch, encodePartitionEntry } from '@blazar/protocol'
import { counterNames, type CounterSnapshot } from '@blazar/transport'
import { NodeMetrics } from '../src/metrics/node-metrics.ts'
import { PartitionRates } from '../src/partition-rates.ts'
import type { GroupHost } from '../src/group-host.ts'
import type { PartitionService } from '../src/partition-service.ts'
import type { LogStore } from '@blazar/storage'

const clock = new VirtualClock()
const codecs = new CompressionCodecs()

function partition (group: string, messages: number, leading = true) {
  const sm = new PartitionStateMachine({ topic: group, partition: 0, logger: silentLogger })
  const rates = new PartitionRates(clock)
  sm.onCommit((batch) => { rates.published(batch) })
  const envelope = encodeBatch(Array.from({ length: messages }, (_, i) => ({ properties: {}, payload: new Uint8Array(10), eventTime: 0, sequenceId: i })), { producerName: 'p' }, codecs)
  const { kind, data } = encodePartitionEntry({ kind: 'batch', body: { ...envelope, publishTime: 1 } })
  sm.apply({ index: 1, term: 1, kind, data })
  return { group, sm, rates, replica: { isLeading: leading, consumerStats: () => [], backlogUsage: () => ({ bytes: 10 * messages, ageSeconds: messages }), heldSends: 1 } }
}

function metrics (maxTopicSeries: number) {
  const hosted = [
    partition('persistent://a/x/t1', 2),
    partition('persistent://a/x/t2', 3),
    partition('persistent://b/y/t3', 5),
    partition('persistent://b/y/t4', 7, false)
  ]
  const statuses = hosted.map((h, i) => ({ group: h.group, term: i + 1, role: h.replica.isLeading ? 'leader' : 'follower', commitIndex: 5, appliedIndex: 4, lastIndex: 6 }))
  const transport = Object.fromEntries(counterNames.map((name) => [name, 3])) as CounterSnapshot
  return new NodeMetrics({
    clusterName: 'c1',
    maxTopicSeries,
    partitions: () => ({ all: () => hosted }) as unknown as PartitionService,
    host: () => ({ statuses: () => statuses }) as unknown as GroupHost,
    store: () => ({ stats: () => ({ fsyncs: 12, journalFsyncs: 6, rounds: 4, journalBytes: 100 }) }) as unknown as LogStore,
    transport: () => transport
  })
}

const series = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))

t.test('per-topic series from led partitions only, under the cap', async (t) => {
  const { body } = await metrics(10).scrape()
  t.same(series(body, 'pulsar_in_messages_total').sort(), [
    'pulsar_in_messages_total{cluster="c1",namespace="a/x",topic="persistent://a/x/t1"} 2',
    'pulsar_in_messages_total{cluster="c1",namespace="a/x",topic="persistent://a/x/t2"} 3',
    'pulsar_in_messages_total{cluster="c1",namespace="b/y",topic="persistent://b/y/t3"} 5'
  ], 'the follower partition (t4) is reported by its leader, not here')
  t.equal(series(body, 'pulsar_rate_in').length, 3)
  t.ok(series(body, 'pulsar_storage_backlog_size').includes('pulsar_storage_backlog_size{cluster="c1",namespace="b/y",topic="persistent://b/y/t3"} 50'), 'the backlog size quotas measure')
  t.ok(series(body, 'pulsar_storage_backlog_age_seconds').includes('pulsar_storage_backlog_age_seconds{cluster="c1",namespace="a/x",topic="persistent://a/x/t2"} 3'))
  t.ok(series(body, 'pulsar_storage_backlog_quota_limit').includes('pulsar_storage_backlog_quota_limit{cluster="c1",namespace="a/x",topic="persistent://a/x/t1"} -1'), 'no quota: -1')
  t.equal(series(body, 'blazar_backlog_quota_held_sends').length, 3)
  t.equal(series(body, 'blazar_raft_term').length, 4, 'one term series per hosted group')
  t.same(series(body, 'blazar_storage_fsyncs_per_round'), ['blazar_storage_fsyncs_per_round 3'])
  t.same(series(body, 'blazar_transport_raft_bytes_sent_total'), ['blazar_transport_raft_bytes_sent_total 3'])
})

t.test('above the cap: per namespace only, summed, and no per-group Raft series', async (t) => {
  const { body } = await metrics(2).scrape()
  t.same(series(body, 'pulsar_in_messages_total').sort(), [
    'pulsar_in_messages_total{cluster="c1",namespace="a/x"} 5',
    'pulsar_in_messages_total{cluster="c1",namespace="b/y"} 5'
  ])
  t.notOk(body.includes('topic="'), 'no topic label anywhere')
  t.same(series(body, 'blazar_raft_term'), [])
  t.ok(series(body, 'blazar_raft_groups').length > 0, 'the role counts stay')
})

t.test('leader changes and elections per group', async (t) => {
  const m = metrics(10)
  m.groupEvents.roleChanged('g', { role: 'follower', leader: 'n1' })
  m.groupEvents.roleChanged('g', { role: 'candidate', leader: null })
  m.groupEvents.roleChanged('g', { role: 'leader', leader: 'n2' })
  m.groupEvents.roleChanged('g', { role: 'leader', leader: 'n2' })
  m.groupEvents.snapshotRestored('g')
  const { body } = await m.scrape()
  t.same(series(body, 'blazar_raft_leader_changes_total'), ['blazar_raft_leader_changes_total{group="g"} 1'], 'the first leader seen is not a change; n1 → n2 is')
  t.same(series(body, 'blazar_raft_elections_total'), ['blazar_raft_elections_total{group="g"} 1'])
  t.same(series(body, 'blazar_raft_snapshot_installs_total'), ['blazar_raft_snapshot_installs_total{group="g"} 1'])
})
