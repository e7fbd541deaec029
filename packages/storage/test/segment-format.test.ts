import t from 'tap'
import { ByteWriter } from '../src/codec.ts'
import {
  decodeSegmentHeader, encodeSegmentHeader, parseRecord, parseSegmentFileName, recordEntry,
  segmentFileName, writeRecord
} from '../src/segment-format.ts'

t.test('a record round-trips and any flipped bit is detected', async (t) => {
  const writer = new ByteWriter()
  const entry = { index: 2 ** 40 + 7, term: 3, kind: 9, data: new Uint8Array([1, 2, 3, 4, 5]) }
  writeRecord(writer, entry)
  const bytes = writer.finish().slice()
  const parsed = parseRecord(bytes, 0, 1024)
  if (typeof parsed === 'string') throw new Error(parsed)
  t.same(recordEntry(bytes, parsed), entry)
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const damaged = bytes.slice()
    damaged[bit >> 3] ^= 1 << (bit & 7)
    t.not(typeof parseRecord(damaged, 0, 1024), 'object', `bit ${bit}`)
  }
  t.equal(parseRecord(bytes.subarray(0, bytes.length - 1), 0, 1024), 'short')
})

t.test('segment header and name', async (t) => {
  t.equal(decodeSegmentHeader(encodeSegmentHeader(12345)), 12345)
  const header = encodeSegmentHeader(5)
  header[9] ^= 1
  t.equal(decodeSegmentHeader(header), undefined)
  t.equal(parseSegmentFileName(segmentFileName(77)), 77)
  t.equal(parseSegmentFileName('77.log'), undefined)
})
