import t from 'tap'
import fc from 'fast-check'
import { decodeMessage, encodeMessage, type MessageIdData } from '@blazar/pulsar-wire'
import {
  InvalidArgumentError, MAX_MESSAGES_PER_BATCH, MessageId, PULSAR_EARLIEST_ENTRY, PULSAR_LATEST_ENTRY, ackSetOf,
  ackedBatchIndexesOf, fromPulsarMessageId, toPulsarMessageId
} from '../src/index.ts'

const idArb = fc.tuple(fc.integer({ min: -1, max: 15 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -1, max: 2000 }))
  .map(([p, i, b]) => new MessageId(p, i, b))

/** As a Pulsar client sees the id: through the wire encoding. */
const wire = (id: MessageId): MessageIdData => decodeMessage<MessageIdData>('MessageIdData', encodeMessage('MessageIdData', toPulsarMessageId(id)))

/** Pulsar's MessageIdImpl.compareTo within one partition: ledger, entry, batch index. */
const pulsarCompare = (a: MessageIdData, b: MessageIdData): number =>
  Math.sign(Number(a.ledgerId - b.ledgerId)) || Math.sign(Number(a.entryId - b.entryId)) || Math.sign(a.batch_index - b.batch_index)

t.test('ids survive the trip through MessageIdData', async () => {
  fc.assert(fc.property(idArb, (id) => fromPulsarMessageId(wire(id)).equals(id)))
})

t.test('Pulsar orders the mapped ids of a partition as Blazar orders the log', async () => {
  fc.assert(fc.property(idArb, idArb, (a, b) => {
    const sameP = new MessageId(a.partition, b.index, b.batchIndex)
    return pulsarCompare(wire(a), wire(sameP)) === Math.sign(a.compare(sameP))
  }))
})

t.test('Pulsar earliest and latest, and ids Blazar never gave out', async (t) => {
  t.ok(fromPulsarMessageId({ ledgerId: PULSAR_EARLIEST_ENTRY, entryId: PULSAR_EARLIEST_ENTRY, partition: -1, batch_index: -1 }).equals(MessageId.earliest()))
  t.ok(fromPulsarMessageId({ ledgerId: PULSAR_LATEST_ENTRY, entryId: PULSAR_LATEST_ENTRY, partition: 2, batch_index: -1 }).equals(MessageId.latest(2)))
  t.throws(() => fromPulsarMessageId({ ledgerId: 7n, entryId: 1n, partition: -1, batch_index: -1 }), InvalidArgumentError)
  t.throws(() => fromPulsarMessageId({ ledgerId: 0n, entryId: 2n ** 60n, partition: -1, batch_index: -1 }), InvalidArgumentError)
  t.throws(() => fromPulsarMessageId({ ledgerId: 0n, entryId: 1n, partition: -2, batch_index: -1 }), InvalidArgumentError)
  t.throws(() => fromPulsarMessageId({ ledgerId: 0n, entryId: 1n, partition: 0, batch_index: MAX_MESSAGES_PER_BATCH }), InvalidArgumentError)
})

t.test('ack sets: a bit per message still unacknowledged, words as Java longs', async (t) => {
  t.same(ackSetOf(3, [1]), [0b101n])
  t.same(ackSetOf(64, []), [-1n], 'a full word is -1 as a signed long')
  t.same(ackedBatchIndexesOf([0b101n], 3), [1])
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }).chain((size) => fc.tuple(fc.constant(size), fc.uniqueArray(fc.nat({ max: size - 1 })))), ([size, acked]) => {
    const wireSet = decodeMessage<MessageIdData>('MessageIdData', encodeMessage('MessageIdData', { ledgerId: 0, entryId: 1, ack_set: ackSetOf(size, acked) })).ack_set
    return JSON.stringify(ackedBatchIndexesOf(wireSet, size)) === JSON.stringify([...acked].sort((a, b) => a - b))
  }))
})
