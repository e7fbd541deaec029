import t from 'tap'
import fc from 'fast-check'
import {
  CompressionCodecs, DEFAULT_PARTITION_CONFIG, MalformedMessageError, PartitionEntryKind, decodePartitionEntry,
  encodeBatch, encodePartitionEntry, type PartitionEntry
} from '../src/index.ts'

const envelope = encodeBatch([{ properties: { a: 'b' }, payload: new Uint8Array([1]), eventTime: 3, sequenceId: 9 }], { producerName: 'p' }, new CompressionCodecs())

const samples: PartitionEntry[] = [
  { kind: 'batch', body: { ...envelope, publishTime: 1234 } },
  { kind: 'cursor', body: { subscription: 's', generation: 2, markDelete: 10, ackedRanges: [[12, 14], [20, 20]] } },
  { kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } },
  { kind: 'subscription', body: { op: 'delete', subscription: 's' } },
  { kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'message', index: 5, batchIndex: 0 } } },
  { kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'publishTime', publishTime: 99 } } },
  { kind: 'config', body: DEFAULT_PARTITION_CONFIG },
  { kind: 'trim', body: { upTo: 77 } }
]

/** JSON form with every byte array (Uint8Array or Buffer alike) as a plain array. */
function plain (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, function (this: Record<string, unknown>, key, json) {
    const raw = this[key]
    return raw instanceof Uint8Array ? [...raw] : json
  }))
}

t.test('every entry kind round-trips with its Raft kind number', async (t) => {
  for (const entry of samples) {
    const { kind, data } = encodePartitionEntry(entry)
    t.equal(kind, PartitionEntryKind[entry.kind])
    t.not(kind, 0, 'kind 0 belongs to Raft')
    const back = decodePartitionEntry(kind, data)
    t.same(plain(back), plain(entry), entry.kind)
  }
})

t.test('bad entries are typed errors', async (t) => {
  t.throws(() => decodePartitionEntry(0, new Uint8Array()), MalformedMessageError)
  t.throws(() => decodePartitionEntry(99, new Uint8Array()), MalformedMessageError)
  t.throws(() => encodePartitionEntry({ kind: 'trim', body: { upTo: -1 } }), MalformedMessageError)
  fc.assert(fc.property(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 64 }), (kind, data) => {
    try {
      decodePartitionEntry(kind, data)
      return true
    } catch (error) {
      return error instanceof MalformedMessageError
    }
  }))
})
