// The REST API's message ids go through the protocol's one Pulsar id mapping
// (pulsar-message-id.ts), the same as the Pulsar port: ledger 0, entry = Raft index; Pulsar's
// earliest (-1, -1) and latest (Long.MAX, Long.MAX) as JSON numbers; another ledger refused.
import { fromPulsarMessageId, toPulsarMessageId, MessageId } from '@blazar/protocol'
import t from 'tap'
import { positionOfPulsarId, pulsarMessageId, pulsarMessageIdText } from '../src/rest/pulsar-shapes.ts'

t.test('a Blazar id answers as the Pulsar port maps it', async (t) => {
  const id = { partition: 2, index: 41, batchIndex: 3 }
  const wire = toPulsarMessageId(MessageId.fromData(id))
  t.same(pulsarMessageId(id), { ledgerId: Number(wire.ledgerId), entryId: Number(wire.entryId), partitionIndex: 2, batchIndex: 3 })
  t.equal(pulsarMessageIdText(id), `${wire.ledgerId}:41:2:3`)
  t.same(fromPulsarMessageId({ ledgerId: BigInt(pulsarMessageId(id).ledgerId), entryId: 41n, partition: 2, batch_index: 3 }).toData(), id, 'and maps back')
})

t.test('positions from Pulsar JSON ids', async (t) => {
  t.same(positionOfPulsarId({ ledgerId: -1, entryId: -1 }), { at: 'earliest' })
  // Long.MAX_VALUE parsed by JSON.parse is 2^63 (a double).
  t.same(positionOfPulsarId(JSON.parse('{"ledgerId": 9223372036854775807, "entryId": 9223372036854775807}')), { at: 'latest' })
  t.same(positionOfPulsarId({ ledgerId: 0, entryId: 7 }), { at: 'message', index: 7, batchIndex: -1 })
  t.same(positionOfPulsarId({ ledgerId: 0, entryId: 7, partitionIndex: 1, batchIndex: 2 }), { at: 'message', index: 7, batchIndex: 2 })
})

t.test('an id Blazar never gave out is INVALID_ARGUMENT (400), not a position', async (t) => {
  t.throws(() => positionOfPulsarId({ ledgerId: 5, entryId: 7 }), { code: 'INVALID_ARGUMENT' })
  t.throws(() => positionOfPulsarId({ ledgerId: 0, entryId: 1.5 }), { code: 'INVALID_ARGUMENT' })
})
