import t from 'tap'
import { BackpressureError as RaftBackpressureError, LeadershipLostError, NotLeaderError as RaftNotLeaderError, RaftStoppedError } from '@blazar/raft'
import { StorageBackpressureError, StorageLimitError } from '@blazar/env'
import {
  BackpressureError, DEFAULT_PARTITION_CONFIG, LimitExceededError, MalformedMessageError, MessageTooLargeError, NotLeaderError,
  OutcomeUnknownError, TimeoutError, UnknownError
} from '@blazar/protocol'
import { admitBatch, proposalError, sendResultOf } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

t.test('admit, propose, apply, answer: the send path end to end on one replica', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, deduplication: true } })
  const envelope = batch('producer', 10, 3)
  const entry = admitBatch(structuredClone(envelope), log.sm.partitionConfig, 42_000)
  t.match(entry, { kind: 'batch', body: { publishTime: 42_000, messageCount: 3 } })
  const index = log.commit(entry)
  t.same(sendResultOf(log.sm.outcome(index), 0, { firstSequenceId: 10, lastSequenceId: 12 }), {
    firstSequenceId: 10, lastSequenceId: 12, messageId: { partition: 0, index, batchIndex: 0 }, duplicate: false
  })
  const retry = log.commit(admitBatch(envelope, log.sm.partitionConfig, 43_000))
  t.match(sendResultOf(log.sm.outcome(retry), 0, { firstSequenceId: 10, lastSequenceId: 12 }), { duplicate: true, messageId: { index: 0, batchIndex: -1 } })
  t.throws(() => sendResultOf(undefined, 0, { firstSequenceId: 0, lastSequenceId: 0 }), OutcomeUnknownError)
  t.throws(() => sendResultOf({ kind: 'rejected', error: new MessageTooLargeError({ size: 9, maxMessageSize: 1 }).toWire() }, 0, { firstSequenceId: 0, lastSequenceId: 0 }), MessageTooLargeError)
})

t.test('admission enforces the partition maxMessageSize and the envelope shape', async (t) => {
  const small = { ...DEFAULT_PARTITION_CONFIG, maxMessageSize: 100 }
  t.throws(() => admitBatch(batch('p', 0, 1, 500), small, 0), MessageTooLargeError)
  t.throws(() => admitBatch({ producerName: 'p' }, small, 0), MalformedMessageError)
})

t.test('Raft proposal failures become the wire errors clients act on', async (t) => {
  const group = 'persistent://public/default/t'
  const notLeader = proposalError(new RaftNotLeaderError('node-2'), group)
  t.ok(notLeader instanceof NotLeaderError)
  t.same(notLeader.details, { group, leaderHint: 'node-2' })
  t.same(proposalError(new RaftNotLeaderError(null), group).details, { group, leaderHint: null })
  t.ok(proposalError(new LeadershipLostError('propose'), group) instanceof OutcomeUnknownError)
  t.ok(proposalError(new RaftBackpressureError(10), group) instanceof BackpressureError)
  t.ok(proposalError(new RaftStoppedError(), group) instanceof OutcomeUnknownError, 'a stopped node may still commit what it had proposed')
  const full = proposalError(new StorageBackpressureError(300, 256), group)
  t.ok(full instanceof BackpressureError, 'a full storage write queue: retry later')
  t.same(full.details, { resource: `storage write queue of ${group}`, limit: 256 })
  const tooBig = proposalError(new StorageLimitError('maxEntryBytes', 20, 16, 'entry 7'), group)
  t.ok(tooBig instanceof LimitExceededError, 'an entry over a storage limit: retrying cannot help')
  t.same(tooBig.details, { limit: 'maxEntryBytes', value: 20, max: 16 })
  const timeout = new TimeoutError({ operation: 'send', timeoutMs: 1 })
  t.equal(proposalError(timeout, group), timeout)
  t.ok(proposalError(new Error('boom'), group) instanceof UnknownError)
})
