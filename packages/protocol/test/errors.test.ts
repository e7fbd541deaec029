import t from 'tap'
import fc from 'fast-check'
import {
  BlazarError, InvalidTopicNameError, MalformedMessageError, MessageTooLargeError, NotLeaderError, TimeoutError,
  UnknownError, UnknownTopicError, errorClassFor, errorFromWire, errorToWire, pack, registeredErrorCodes, unpack
} from '../src/index.ts'

const passThrough = { parse: (value: unknown) => value }

t.test('every error survives the wire as the same class with the same details', async (t) => {
  const errors: BlazarError[] = [
    new UnknownTopicError({ topic: 'persistent://a/b/c' }),
    new InvalidTopicNameError({ topic: 'a b', reason: 'spaces' }),
    new MessageTooLargeError({ size: 6_000_000, maxMessageSize: 5_242_880 }),
    new NotLeaderError({ group: 'persistent://a/b/c', leaderHint: 'node-2' }),
    new NotLeaderError({ group: 'meta', leaderHint: null }),
    new TimeoutError({ operation: 'send', timeoutMs: 30_000 })
  ]
  for (const error of errors) {
    const back = errorFromWire(unpack(pack(errorToWire(error)), passThrough, 1 << 20))
    t.equal(back.constructor, error.constructor, error.name)
    t.equal(back.name, error.name)
    t.equal(back.code, error.code)
    t.equal(back.message, error.message)
    t.same(back.details, error.details)
  }
  t.equal((errorFromWire(new NotLeaderError({ group: 'g', leaderHint: 'n2' }).toWire()) as InstanceType<typeof NotLeaderError>).details.leaderHint, 'n2')
})

t.test('codes are stable and unique, names match classes', async (t) => {
  const codes = registeredErrorCodes()
  t.equal(new Set(codes).size, codes.length)
  for (const code of ['UNKNOWN_TOPIC', 'INVALID_TOPIC_NAME', 'MESSAGE_TOO_LARGE', 'PRODUCER_CLOSED', 'TIMEOUT', 'NOT_LEADER', 'UNAUTHORIZED', 'TOPIC_ALREADY_EXISTS', 'MALFORMED_MESSAGE']) {
    t.ok(codes.includes(code), code)
  }
  for (const code of codes) {
    const ErrorClass = errorClassFor(code)!
    t.equal(ErrorClass.code, code)
    t.equal(ErrorClass.name, ErrorClass.spec.name)
  }
  const error = new UnknownTopicError({ topic: 'x' })
  t.ok(error instanceof Error && error instanceof BlazarError && error instanceof UnknownTopicError)
  t.equal(error.name, 'UnknownTopicError')
})

t.test('unknown codes, foreign errors and garbage are handled', async (t) => {
  const unknown = errorFromWire({ code: 'FROM_THE_FUTURE', message: 'new', details: { a: 1 } })
  t.ok(unknown instanceof UnknownError)
  t.equal(unknown.details.originalCode, 'FROM_THE_FUTURE')
  t.equal(errorToWire(new Error('boom')).code, 'UNKNOWN_ERROR')
  t.ok(errorFromWire({ code: 'NOT_LEADER', message: 'x', details: { group: 5 } }) instanceof MalformedMessageError)
  fc.assert(fc.property(fc.anything(), (value) => errorFromWire(value) instanceof BlazarError))
})
