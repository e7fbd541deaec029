// The chaos test's checks on what was sent and what was read, as pure functions of the send
// outcomes and the audit read, so that each check is itself tested (chaos-audit.test.ts).
// Message texts are `p<producer>-<seq>`, unique per send.
import type { MessageId } from '@blazar/protocol'

export interface SendOutcome {
  producer: number
  /** The producer's send counter (its send order). */
  seq: number
  text: string
  /** The ID the send resolved with, or null if it rejected. */
  id: MessageId | null
  /** The rejection's error code, or null if it resolved. */
  error: string | null
}

export interface StoredMessage {
  id: MessageId
  text: string
}

/**
 * Rejections from the client before anything was sent. Every other failure (a timeout, a
 * refusal after an earlier attempt timed out, ...) has an unknown outcome: the message may be stored.
 */
export const REFUSED_BEFORE_SENDING: ReadonlySet<string> = new Set(['BACKPRESSURE', 'INVALID_ARGUMENT', 'MESSAGE_TOO_LARGE'])

export function sendText (producer: number, seq: number): string {
  return `p${producer}-${seq}`
}

/**
 * Per producer and partition, an acknowledged message (`storedFirst`) stored before one the
 * producer sent earlier (`sentFirst`). `sentFirstAlsoAt`: other IDs the audit read found the
 * earlier message at (a copy before `storedFirst` means its first attempt was stored in order and
 * the acknowledged ID is a resend's).
 */
export interface OrderViolation {
  producer: number
  partition: number
  storedFirst: string
  sentFirst: string
  sentFirstAlsoAt?: string[]
}

export interface AuditFindings {
  /** Acknowledged sends not read at the ID their send reported (`readAs` is what is there, if anything). */
  notReadAtId: Array<{ text: string, id: string, readAs: string | null }>
  /** Read messages no send could have stored: unknown texts, and texts of sends refused before sending. */
  phantoms: Array<{ id: string, text: string, reason: string }>
  /** Texts read at more than one ID (a resent batch, when deduplication is off). */
  duplicates: Array<{ text: string, ids: string[] }>
  orderViolations: OrderViolation[]
  /** Failed sends (unknown outcome) that were stored anyway: allowed, reported. */
  unknownOutcomeStored: number
}

export function auditRead (outcomes: readonly SendOutcome[], read: readonly StoredMessage[]): AuditFindings {
  const byText = new Map(outcomes.map((outcome) => [outcome.text, outcome]))
  const textAt = new Map(read.map((message) => [message.id.toString(), message.text]))
  const idsOf = new Map<string, string[]>()
  for (const message of read) {
    const ids = idsOf.get(message.text) ?? []
    ids.push(message.id.toString())
    idsOf.set(message.text, ids)
  }

  const notReadAtId: AuditFindings['notReadAtId'] = []
  for (const outcome of outcomes) {
    if (outcome.id === null) continue
    const readAs = textAt.get(outcome.id.toString()) ?? null
    if (readAs !== outcome.text) notReadAtId.push({ text: outcome.text, id: outcome.id.toString(), readAs })
  }

  const phantoms: AuditFindings['phantoms'] = []
  let unknownOutcomeStored = 0
  for (const message of read) {
    const outcome = byText.get(message.text)
    if (outcome === undefined) {
      phantoms.push({ id: message.id.toString(), text: message.text, reason: 'no send had this text' })
    } else if (outcome.error !== null && REFUSED_BEFORE_SENDING.has(outcome.error)) {
      phantoms.push({ id: message.id.toString(), text: message.text, reason: `its send was refused before sending (${outcome.error})` })
    } else if (outcome.error !== null) {
      unknownOutcomeStored++
    }
  }

  const duplicates = [...idsOf].filter(([, ids]) => ids.length > 1).map(([text, ids]) => ({ text, ids }))
  return { notReadAtId, phantoms, duplicates, orderViolations: orderViolations(outcomes, idsOf), unknownOutcomeStored }
}

/** Per producer and partition, the acknowledged messages in ID order must be in send order; `idsOf` (text to IDs read) adds the other copies. */
export function orderViolations (outcomes: readonly SendOutcome[], idsOf: ReadonlyMap<string, readonly string[]> = new Map()): OrderViolation[] {
  const streams = new Map<string, SendOutcome[]>()
  for (const outcome of outcomes) {
    if (outcome.id === null) continue
    const key = `${outcome.producer}/${outcome.id.partition}`
    const stream = streams.get(key) ?? []
    stream.push(outcome)
    streams.set(key, stream)
  }
  const violations: OrderViolation[] = []
  for (const stream of streams.values()) {
    stream.sort((a, b) => (a.id as MessageId).compare(b.id as MessageId))
    let latest = stream[0] as SendOutcome
    for (const outcome of stream.slice(1)) {
      if (outcome.seq < latest.seq) {
        const id = (outcome.id as MessageId).toString()
        const copies = (idsOf.get(outcome.text) ?? []).filter((other) => other !== id)
        violations.push({
          producer: outcome.producer,
          partition: (outcome.id as MessageId).partition,
          storedFirst: `seq ${latest.seq} at ${latest.id?.toString()}`,
          sentFirst: `seq ${outcome.seq} at ${id}`,
          ...(copies.length > 0 ? { sentFirstAlsoAt: copies } : {})
        })
      }
      if (outcome.seq > latest.seq) latest = outcome
    }
  }
  return violations
}

/** Acknowledged sends whose ID the Shared subscription never received. */
export function missingFrom (outcomes: readonly SendOutcome[], received: ReadonlySet<string>): string[] {
  return outcomes.filter((outcome) => outcome.id !== null && !received.has(outcome.id.toString())).map((outcome) => `${outcome.text} at ${outcome.id?.toString()}`)
}
