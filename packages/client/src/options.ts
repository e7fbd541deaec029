// Client, producer and consumer options with Pulsar's defaults, validated once, and the
// service URL rules: one or more node multiaddrs ending in /p2p/<PeerId>, as a list or one
// comma- or whitespace-separated string, else the BLAZAR_SERVICE_URL environment variable.
import {
  InvalidArgumentError, MAX_FLOW_PERMITS, MAX_MESSAGES_PER_BATCH, PULSAR_DEFAULTS,
  type CompressionCodec, type CompressionType, type InitialPosition, type SubscriptionType
} from '@blazar/protocol'
import type { Transport, TransportSettings } from '@blazar/transport'
import type { MessageRoutingMode } from './routing.ts'
import type { Timers } from './timers.ts'

/** Pulsar's operationTimeoutSeconds default (30 s). */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000
/** Pulsar's maxPendingMessages is unbounded by default; Blazar bounds it (blockIfQueueFull=false: reject). */
export const DEFAULT_MAX_PENDING_MESSAGES = 10_000
/** Pulsar's Node client flushes a batch after 10 ms. */
export const DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS = 10
/** Pulsar's maxTotalReceiverQueueSizeAcrossPartitions. */
export const MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS = 50_000

export interface ClientOptions {
  serviceUrl?: string | readonly string[]
  operationTimeoutMs?: number
  /** Codecs beyond NONE and ZLIB (which are built in). */
  compressionCodecs?: readonly CompressionCodec[]
  transportSettings?: Partial<TransportSettings>
  /** A started transport to use (not stopped by close()); by default the client starts its own, with an ephemeral identity. */
  transport?: Transport
  timers?: Timers
}

export interface ProducerOptions {
  topic: string
  producerName?: string
  sendTimeoutMs?: number
  batchingEnabled?: boolean
  batchingMaxMessages?: number
  batchingMaxPublishDelayMs?: number
  batchingMaxBytes?: number
  maxPendingMessages?: number
  messageRoutingMode?: MessageRoutingMode
  compressionType?: CompressionType
  accessMode?: 'Shared' | 'Exclusive' | 'ExclusiveWithFencing' | 'WaitForExclusive'
}

export interface ConsumerOptions {
  topic: string
  subscription: string
  subscriptionType?: SubscriptionType
  subscriptionInitialPosition?: InitialPosition
  receiverQueueSize?: number
  consumerName?: string
  negativeAckRedeliveryDelayMs?: number
}

export function serviceUrls (serviceUrl: string | readonly string[] | undefined, env: Record<string, string | undefined> = process.env): string[] {
  const raw = serviceUrl ?? env.BLAZAR_SERVICE_URL
  const list = (typeof raw === 'string' ? [raw] : [...(raw ?? [])]).flatMap((entry) => entry.split(/[\s,]+/)).filter((entry) => entry.length > 0)
  if (list.length === 0) throw new InvalidArgumentError({ argument: 'serviceUrl', reason: 'no node address given (serviceUrl or BLAZAR_SERVICE_URL)' })
  for (const address of list) {
    if (!address.startsWith('/') || !address.includes('/p2p/')) {
      throw new InvalidArgumentError({ argument: 'serviceUrl', reason: `${address.slice(0, 200)} is not a multiaddr ending in /p2p/<PeerId>` })
    }
  }
  return list
}

export function positiveInteger (argument: string, value: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError({ argument, reason: `must be an integer in [${min}, ${max}], got ${value}` })
  }
  return value
}

export function receiverQueueSizeFor (options: ConsumerOptions, partitions: number): number {
  const size = positiveInteger('receiverQueueSize', options.receiverQueueSize ?? PULSAR_DEFAULTS.receiverQueueSize, MAX_FLOW_PERMITS)
  if (partitions <= 1) return size
  return Math.max(1, Math.min(size, Math.floor(MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS / partitions)))
}

export function batchLimits (options: ProducerOptions): { maxMessages: number, maxBytes: number, delayMs: number } {
  return {
    maxMessages: positiveInteger('batchingMaxMessages', options.batchingMaxMessages ?? PULSAR_DEFAULTS.batchingMaxMessages, MAX_MESSAGES_PER_BATCH),
    maxBytes: positiveInteger('batchingMaxBytes', options.batchingMaxBytes ?? PULSAR_DEFAULTS.batchingMaxBytes),
    delayMs: positiveInteger('batchingMaxPublishDelayMs', options.batchingMaxPublishDelayMs ?? DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS, 3_600_000, 0)
  }
}
