// `blazar topics stats` text: the reason a subscription or consumer is not progressing, in words.
import t from 'tap'
import { DISPATCH_BLOCK_REASONS } from '@blazar/protocol'
import { reasonInWords, topicStatsLines } from '../src/commands/topic-stats-text.ts'

t.test('every reason code has its own words', async (t) => {
  const words = DISPATCH_BLOCK_REASONS.map(reasonInWords)
  t.equal(new Set(words).size, DISPATCH_BLOCK_REASONS.length)
})

t.test('a stuck Key_Shared consumer: the subscription and the consumer say why', async (t) => {
  const lines = topicStatsLines({
    topic: 'persistent://public/default/orders',
    partitions: 0,
    messagesIn: 10,
    bytesIn: 100,
    subscriptions: [{
      name: 'work', type: 'Key_Shared', markDelete: 3, backlog: 7, consumers: 2, durable: true,
      reason: 'KEY_BLOCKED_BY_UNACKED', redeliveryQueueMessages: 4, delayedMessages: 0, oldestUnacked: null,
      consumerStats: [
        { consumerName: 'c1', permits: 0, unackedMessages: 3, blockedConsumerOnUnackedMsgs: false, blockedKeyHashes: [], blockedKeyHashCount: 0, reason: 'NO_PERMITS', oldestUnacked: { messageId: { partition: -1, index: 4, batchIndex: 0 }, ageMs: 1500 } },
        { consumerName: 'c2', permits: 10, unackedMessages: 0, blockedConsumerOnUnackedMsgs: false, blockedKeyHashes: [17], blockedKeyHashCount: 1, reason: 'KEY_BLOCKED_BY_UNACKED', oldestUnacked: null }
      ]
    }]
  })
  t.match(lines.join('\n'), /subscription work \(Key_Shared\): backlog 7, mark-delete 3, 2 consumer\(s\), 4 waiting for redelivery/)
  t.match(lines.join('\n'), /dispatch is not progressing: its keys wait until another consumer acknowledges/)
  t.match(lines.join('\n'), /consumer c1: permits 0, 3 unacked, oldest unacked 4:-1:0, out for 1500 ms\n\s+not receiving: the consumer has no flow permits left/)
  t.match(lines.join('\n'), /consumer c2: permits 10, 0 unacked, 1 blocked key hash\(es\): 17\n\s+not receiving: its keys wait/)
})

t.test('a progressing subscription prints no reason', async (t) => {
  const lines = topicStatsLines({ topic: 't', partitions: 0, messagesIn: 0, bytesIn: 0, subscriptions: [{ name: 's', type: 'Shared', markDelete: 0, backlog: 0, consumers: 0 }] })
  t.same(lines, ['t: 0 partition(s), 0 messages in, 0 bytes in', '  subscription s (Shared): backlog 0, mark-delete 0, 0 consumer(s)'])
})
