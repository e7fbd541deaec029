// attachmentEnded: how a consumer's attachment ending (leadership moved, connection lost) reaches
// the client, and what the session keeps of it.
import t from 'tap'
import { attachmentEnded, SessionState, type ConsumerRecord, type GatewaySession } from '../src/session-state.ts'

const session: GatewaySession = { peer: 'client', open: true, push: async () => {}, onClose: () => {} }

const record = (subscribing: boolean): ConsumerRecord => ({
  clientId: 1, group: 'g', subscription: 's', type: 'Exclusive', initialPosition: 'Latest', durable: true, startMessageId: undefined, startMessageIdInclusive: undefined, consumerName: 'c',
  attachment: null, attempt: subscribing ? { closedReason: null, record: null } : null
})

t.test('a close while the subscribe is in flight fails the subscribe instead of racing it with a push', async (t) => {
  const state = new SessionState(session, false)
  const pending = record(true)
  state.consumers.set(pending.clientId, pending)
  t.equal(attachmentEnded(state, pending, 'leadership moved'), false, 'no push: it could overtake the subscribe answer and be ignored')
  t.equal(pending.attempt?.closedReason, 'leadership moved', 'the subscribe answers CONSUMER_CLOSED with the reason')
  t.equal(state.consumers.get(pending.clientId), pending, 'the subscribe in flight ends the record itself')
})

t.test('an attached consumer is told with a consumer-closed push and the session forgets it', async (t) => {
  const state = new SessionState(session, false)
  const attached = record(false)
  state.consumers.set(attached.clientId, attached)
  t.equal(attachmentEnded(state, attached, 'leadership moved'), true, 'a consumer-closed push')
  t.equal(attached.attachment, null)
  t.equal(state.consumers.size, 0, 'no record left: a client that closes the consumer before subscribing again sends nothing, and the handle must not stay held')
  t.equal(state.handles, 0)
})
