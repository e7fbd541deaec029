import t from 'tap'
import { keyHash, murmur3_32 } from '../src/index.ts'

const utf8 = (s: string) => new TextEncoder().encode(s)

t.test('murmur3_32 matches the reference vectors', async (t) => {
  t.equal(murmur3_32(utf8('')), 0)
  t.equal(murmur3_32(utf8(''), 1), 0x514e28b7)
  t.equal(murmur3_32(utf8('hello')), 0x248bfa47)
  t.equal(murmur3_32(utf8('abc')), 0xb3dd93fa)
  t.equal(murmur3_32(utf8('The quick brown fox jumps over the lazy dog')), 0x2e4ff723)
})

t.test('keyHash is non-negative and stable', async (t) => {
  t.equal(keyHash('hello'), 0x248bfa47 & 0x7fffffff)
  t.ok(keyHash('héllo wörld') >= 0)
  t.equal(keyHash('x'), keyHash('x'))
})
