// Unit tests of Membership: a config takes effect when appended, truncation reverts it, and a
// snapshot rebases the history.
import t from 'tap'
import type { LogEntry, MembershipConfig } from '@blazar/env'
import { decodeConfig, encodeConfig, Membership, quorumSize, RAFT_ENTRY_KIND } from '../src/membership.ts'

const configEntry = (index: number, config: MembershipConfig): LogEntry => ({ index, term: 1, kind: RAFT_ENTRY_KIND, data: encodeConfig(config) })

t.test('config entries round-trip and a no-op is not a config', async (t) => {
  const config = { voters: ['a', 'b'], learners: ['c'] }
  t.same(decodeConfig(configEntry(1, config)), config)
  t.equal(decodeConfig({ index: 2, term: 1, kind: RAFT_ENTRY_KIND, data: new Uint8Array(0) }), undefined)
  t.equal(decodeConfig({ index: 3, term: 1, kind: 1, data: encodeConfig(config) }), undefined, 'user entries are never configs')
})

t.test('append takes effect at once; truncation reverts; snapshots rebase', async (t) => {
  const membership = new Membership({ voters: ['a', 'b', 'c'], learners: [] }, 0)
  t.ok(membership.onAppend([configEntry(5, { voters: ['a', 'b', 'c'], learners: ['d'] })]))
  t.same(membership.current().learners, ['d'])
  t.equal(membership.latestIndex(), 5)
  membership.onAppend([configEntry(8, { voters: ['a', 'b', 'c', 'd'], learners: [] })])
  t.same(membership.at(6).learners, ['d'], 'the config in force at an index')
  t.ok(membership.onTruncate(8))
  t.same(membership.current().voters, ['a', 'b', 'c'])
  membership.rebase(6, { voters: ['a', 'b', 'c'], learners: ['d'] }, true)
  t.same(membership.current().learners, ['d'])
  t.equal(membership.latestIndex(), 6)
})

t.test('quorum sizes', async (t) => {
  t.same([1, 2, 3, 4, 5].map((n) => quorumSize(Array.from({ length: n }, (_, i) => String(i)))), [1, 2, 2, 3, 3])
})
