// Every error the transport raises, one class per error with a stable `name` and `code`.
// Callers branch on `code`; counters are keyed by it too.

/** Base class so callers can recognise transport errors with one instanceof. */
export class TransportError extends Error {
  readonly code: string
  constructor (name: string, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = name
    this.code = code
  }
}

/** A frame's length prefix announces more than the configured maximum frame size. */
export class FrameTooLargeError extends TransportError {
  static readonly code = 'FRAME_TOO_LARGE'
  readonly frameBytes: number
  constructor (frameBytes: number, maxFrameBytes: number) {
    super('FrameTooLargeError', FrameTooLargeError.code, `frame of ${frameBytes} bytes exceeds maxFrameBytes ${maxFrameBytes}`)
    this.frameBytes = frameBytes
  }
}

/** Bytes that are not a valid frame: a bad length prefix, an empty frame, an undecodable or ill-shaped body. */
export class MalformedFrameError extends TransportError {
  static readonly code = 'FRAME_MALFORMED'
  constructor (reason: string, options?: { cause?: unknown }) {
    super('MalformedFrameError', MalformedFrameError.code, `malformed frame: ${reason}`, options)
  }
}

/** The stream ended in the middle of a frame. */
export class TruncatedFrameError extends TransportError {
  static readonly code = 'FRAME_TRUNCATED'
  constructor (bufferedBytes: number) {
    super('TruncatedFrameError', TruncatedFrameError.code, `stream ended inside a frame (${bufferedBytes} bytes buffered)`)
  }
}

/** A peer opened `/blazar/raft/1` but is not a cluster member. */
export class NotAMemberError extends TransportError {
  static readonly code = 'NOT_A_MEMBER'
  constructor (peer: string) {
    super('NotAMemberError', NotAMemberError.code, `peer ${peer} is not a cluster member`)
  }
}

/** A join request was refused (wrong secret, no secret configured, or the host said no). */
export class JoinRefusedError extends TransportError {
  static readonly code = 'JOIN_REFUSED'
  readonly reason: string
  constructor (reason: string) {
    super('JoinRefusedError', JoinRefusedError.code, `join refused: ${reason}`)
    this.reason = reason
  }
}

/** The client already has `clientMaxInflightRequests` requests waiting for a response. */
export class TooManyInflightRequestsError extends TransportError {
  static readonly code = 'TOO_MANY_INFLIGHT_REQUESTS'
  constructor (limit: number) {
    super('TooManyInflightRequestsError', TooManyInflightRequestsError.code, `more than ${limit} requests in flight on this connection`)
  }
}

/** The server session already has `clientMaxPendingPushes` pushes waiting for permits. */
export class PushQueueFullError extends TransportError {
  static readonly code = 'PUSH_QUEUE_FULL'
  constructor (limit: number) {
    super('PushQueueFullError', PushQueueFullError.code, `more than ${limit} pushes waiting for permits`)
  }
}

/** The stream carrying a request or push closed before it completed. */
export class StreamClosedError extends TransportError {
  static readonly code = 'STREAM_CLOSED'
  constructor (message = 'stream closed', options?: { cause?: unknown }) {
    super('StreamClosedError', StreamClosedError.code, message, options)
  }
}

/** The server's request handler failed; `remoteCode` is the code the server reported. */
export class RemoteRequestError extends TransportError {
  static readonly code = 'REMOTE_REQUEST_FAILED'
  readonly remoteCode: string
  constructor (remoteCode: string, message: string) {
    super('RemoteRequestError', RemoteRequestError.code, message)
    this.remoteCode = remoteCode
  }
}

/** The peer broke the protocol (e.g. pushed without a permit, answered an unknown kind of frame). */
export class ProtocolViolationError extends TransportError {
  static readonly code = 'PROTOCOL_VIOLATION'
  constructor (reason: string) {
    super('ProtocolViolationError', ProtocolViolationError.code, `protocol violation: ${reason}`)
  }
}

/** The key file in the data dir exists but cannot be used as this node's identity. */
export class IdentityError extends TransportError {
  static readonly code = 'IDENTITY_UNUSABLE'
  constructor (message: string, options?: { cause?: unknown }) {
    super('IdentityError', IdentityError.code, message, options)
  }
}

/** A setting is out of its valid range. */
export class InvalidSettingError extends TransportError {
  static readonly code = 'INVALID_SETTING'
  constructor (message: string) {
    super('InvalidSettingError', InvalidSettingError.code, message)
  }
}

/** An invariant of the transport itself does not hold: a bug, not a peer's fault. */
export class AssertionFailedError extends TransportError {
  static readonly code = 'ASSERTION_FAILED'
  constructor (message: string) {
    super('AssertionFailedError', AssertionFailedError.code, message)
  }
}

export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionFailedError(message)
}

/** A client tried to hold more than `clientMaxPermits` push permits at once. */
export class PermitLimitError extends TransportError {
  static readonly code = 'PERMIT_LIMIT'
  constructor (limit: number) {
    super('PermitLimitError', PermitLimitError.code, `more than ${limit} push permits outstanding`)
  }
}

/** The transport was stopped; nothing more can be sent or dialled. */
export class TransportStoppedError extends TransportError {
  static readonly code = 'TRANSPORT_STOPPED'
  constructor () {
    super('TransportStoppedError', TransportStoppedError.code, 'transport stopped')
  }
}
