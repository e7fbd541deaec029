// GroupRouter over any Network: each group gets its own send, inbound messages reach their
// group by `message.group`, and messages for unknown groups are dropped and counted.
import t from 'tap'
import type { Network, NodeId } from '@blazar/env'
import { AssertionFailedError, GroupRouter } from '../src/index.ts'

interface Message { type: string, group: string, n: number }

class FakeNetwork implements Network<Message> {
  readonly sent: Array<[NodeId, Message]> = []
  receive: ((from: NodeId, message: Message) => void) | undefined
  send (to: NodeId, message: Message): void { this.sent.push([to, message]) }
  onMessage (receive: (from: NodeId, message: Message) => void): void { this.receive = receive }
}

t.test('dispatch by group, one shared network', async (t) => {
  const network = new FakeNetwork()
  const router = new GroupRouter(network)
  const got: Array<[string, NodeId, number]> = []
  const sendA = router.register('a', (from, m) => { got.push(['a', from, m.n]) })
  router.register('b', (from, m) => { got.push(['b', from, m.n]) })
  sendA('peer1', { type: 'vote', group: 'a', n: 1 })
  t.same(network.sent, [['peer1', { type: 'vote', group: 'a', n: 1 }]])
  network.receive?.('peer2', { type: 'vote', group: 'b', n: 2 })
  network.receive?.('peer2', { type: 'vote', group: 'a', n: 3 })
  network.receive?.('peer2', { type: 'vote', group: 'zzz', n: 4 })
  t.same(got, [['b', 'peer2', 2], ['a', 'peer2', 3]])
  t.equal(router.droppedUnknownGroup, 1)
  t.throws(() => { sendA('peer1', { type: 'vote', group: 'b', n: 5 }) }, AssertionFailedError, 'a group cannot send for another')
  t.throws(() => router.register('a', () => {}), AssertionFailedError, 'registered twice')
  router.unregister('b')
  network.receive?.('peer2', { type: 'vote', group: 'b', n: 6 })
  t.equal(router.droppedUnknownGroup, 2)
})
