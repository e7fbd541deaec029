import t from 'tap'
import fc from 'fast-check'
import { MESSAGE_ID_BYTES, MalformedMessageError, MessageId, compareMessageIds } from '../src/index.ts'

const messageIdArb = fc.record({
  partition: fc.integer({ min: -1, max: 9_999 }),
  index: fc.maxSafeNat(),
  batchIndex: fc.integer({ min: -1, max: 65_535 })
}).map((d) => MessageId.fromData(d))

t.test('string and bytes encodings round-trip', async () => {
  fc.assert(fc.property(messageIdArb, (id) => {
    const viaString = MessageId.fromString(id.toString())
    const bytes = id.toBytes()
    const viaBytes = MessageId.fromBytes(bytes)
    return bytes.length === MESSAGE_ID_BYTES && viaString.equals(id) && viaBytes.equals(id)
  }))
})

t.test('ordering is a total order matching (partition, index, batchIndex) and the byte encoding agrees within a partition', async () => {
  fc.assert(fc.property(messageIdArb, messageIdArb, messageIdArb, (a, b, c) => {
    const ab = a.compare(b)
    if (Math.sign(ab) !== -Math.sign(b.compare(a))) return false
    if (a.compare(b) <= 0 && b.compare(c) <= 0 && a.compare(c) > 0) return false
    const expected = a.partition !== b.partition ? a.partition - b.partition : a.index !== b.index ? a.index - b.index : a.batchIndex - b.batchIndex
    return Math.sign(ab) === Math.sign(expected)
  }))
})

t.test('earliest and latest bound every message of a partition', async () => {
  fc.assert(fc.property(messageIdArb, (id) => {
    return MessageId.earliest(id.partition).compare(id) <= 0 && compareMessageIds(id, MessageId.latest(id.partition)) <= 0
  }))
})

t.test('Pulsar-like toString', async (t) => {
  t.equal(new MessageId(2, 1042, 7).toString(), '1042:2:7')
  t.equal(new MessageId(-1, 5, 0).toString(), '5:-1:0')
})

t.test('bad encodings are typed errors', async (t) => {
  for (const bad of ['', '1:2', 'a:b:c', '1:2:3:4', '-5:0:0', '1:99999:0']) t.throws(() => MessageId.fromString(bad), MalformedMessageError, bad)
  t.throws(() => MessageId.fromBytes(new Uint8Array(3)), MalformedMessageError)
  const wrongVersion = new MessageId(0, 1, 0).toBytes()
  wrongVersion[0] = 9
  t.throws(() => MessageId.fromBytes(wrongVersion), MalformedMessageError)
  t.throws(() => new MessageId(0, 1.5, 0), RangeError)
  fc.assert(fc.property(fc.uint8Array({ minLength: MESSAGE_ID_BYTES, maxLength: MESSAGE_ID_BYTES }), (bytes) => {
    try {
      MessageId.fromBytes(bytes)
      return true
    } catch (error) {
      return error instanceof MalformedMessageError
    }
  }))
})
