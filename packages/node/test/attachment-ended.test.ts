import t from 'tap'
import { attachmentEnded, type ConsumerRecord } from '../src/session-state.ts'

const record = (subscribing: boolean): ConsumerRecord => ({
  clientId: 1, group: 'g', subscription: 's', type: 'Exclusive', initialPosition: 'Latest', durable: true, startMessageId: undefined, startMessageIdInclusive: undefined, consumerName: 'c',
  attachment: null, attempt: subscribing ? { closedReason: null, record: null } : null
})

t.test('a close while the subscribe is in flight fails the subscribe instead of racing it with a push', async (t) => {
  const pending = record(true)
  t.equal(attachmentEnded(pending, 'leadership moved'), false, 'no push: it could overtake the subscribe answer and be ignored')
  t.equal(pending.attempt?.closedReason, 'leadership moved', 'the subscribe answers CONSUMER_CLOSED with the reason')
  const attached = record(false)
  t.equal(attachmentEnded(attached, 'leadership moved'), true, 'an attached consumer is told with a consumer-closed push')
  t.equal(attached.attachment, null)
})
