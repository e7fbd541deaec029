// Tenant, namespace and topic names with Pulsar's rules. A topic is
// `persistent://tenant/namespace/local`; the short forms `local` (→ public/default) and
// `tenant/namespace/local` are accepted. Partition i of topic T is the topic `T-partition-i`.
// Only the `persistent` domain exists in Blazar: every topic is a replicated Raft log.
import { InvalidNameError, InvalidTopicNameError } from './errors.ts'
import { MAX_NAME_LENGTH, MAX_PARTITIONS, MAX_TOPIC_NAME_LENGTH } from './limits.ts'

/** Pulsar's NamedEntity rule for tenants, namespaces and clusters: letters, digits, `-=:._`. */
const NAME_PATTERN = /^[-=:.\w]+$/
const PARTITION_SUFFIX = /-partition-(\d+)$/

export const DEFAULT_TENANT = 'public'
export const DEFAULT_NAMESPACE = 'default'
export const PERSISTENT_DOMAIN = 'persistent'
/** Partition index of a topic that is not a partition (Pulsar uses -1 too). */
export const NON_PARTITIONED = -1

export interface TopicName {
  readonly domain: 'persistent'
  readonly tenant: string
  readonly namespace: string
  /** The last path segment, including any `-partition-N` suffix. */
  readonly localName: string
  /** N for `...-partition-N`, NON_PARTITIONED otherwise. */
  readonly partitionIndex: number
  /** `persistent://tenant/namespace/localName`. */
  readonly full: string
  /** The partitioned topic this is a partition of (equal to `full` when not a partition). */
  readonly base: string
}

function nameProblem (name: string): string | null {
  if (name.length === 0) return 'empty'
  if (name.length > MAX_NAME_LENGTH) return `longer than ${MAX_NAME_LENGTH} characters`
  if (!NAME_PATTERN.test(name)) return 'only letters, digits and - = : . _ are allowed'
  return null
}

export function validateTenantName (tenant: string): string {
  const problem = nameProblem(tenant)
  if (problem !== null) throw new InvalidNameError({ kind: 'tenant', name: tenant, reason: problem })
  return tenant
}

/** A namespace is `tenant/namespace`. Returns its parts. */
export function parseNamespaceName (namespace: string): { tenant: string, namespace: string, full: string } {
  const parts = namespace.split('/')
  if (parts.length !== 2) throw new InvalidNameError({ kind: 'namespace', name: namespace, reason: 'expected tenant/namespace' })
  const [tenant, local] = parts
  for (const [kind, part] of [['tenant', tenant], ['namespace', local]]) {
    const problem = nameProblem(part)
    if (problem !== null) throw new InvalidNameError({ kind, name: namespace, reason: `${kind} part ${problem}` })
  }
  return { tenant, namespace: local, full: `${tenant}/${local}` }
}

/** Names of subscriptions, producers and consumers: non-empty, bounded, no control characters. */
export function validateEntityName (kind: string, name: string): string {
  if (name.length === 0) throw new InvalidNameError({ kind, name, reason: 'empty' })
  if (name.length > MAX_NAME_LENGTH) throw new InvalidNameError({ kind, name, reason: `longer than ${MAX_NAME_LENGTH} characters` })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidNameError({ kind, name, reason: 'control characters are not allowed' })
  return name
}

/** Parses any accepted form of a topic name; throws InvalidTopicNameError. */
export function parseTopicName (input: string): TopicName {
  const invalid = (reason: string): never => { throw new InvalidTopicNameError({ topic: input.slice(0, MAX_TOPIC_NAME_LENGTH), reason }) }
  if (typeof input !== 'string') invalid('not a string')
  if (input.length > MAX_TOPIC_NAME_LENGTH) invalid(`longer than ${MAX_TOPIC_NAME_LENGTH} characters`)
  let rest = input
  const schemeAt = input.indexOf('://')
  if (schemeAt >= 0) {
    const domain = input.slice(0, schemeAt)
    if (domain === 'non-persistent') invalid('non-persistent topics are not supported: every Blazar topic is replicated')
    if (domain !== PERSISTENT_DOMAIN) invalid(`unknown domain ${JSON.stringify(domain)}`)
    rest = input.slice(schemeAt + 3)
  }
  const parts = rest.split('/')
  let tenant: string
  let namespace: string
  let localName: string
  if (parts.length === 1 && schemeAt < 0) {
    [tenant, namespace, localName] = [DEFAULT_TENANT, DEFAULT_NAMESPACE, parts[0]]
  } else if (parts.length === 3) {
    [tenant, namespace, localName] = parts
  } else {
    return invalid(schemeAt >= 0 ? 'expected persistent://tenant/namespace/topic' : 'expected topic or tenant/namespace/topic')
  }
  for (const [kind, part] of [['tenant', tenant], ['namespace', namespace], ['topic', localName]]) {
    const problem = nameProblem(part)
    if (problem !== null) invalid(`${kind} ${problem}`)
  }
  let partitionIndex = NON_PARTITIONED
  const match = PARTITION_SUFFIX.exec(localName)
  if (match !== null) {
    partitionIndex = Number(match[1])
    if (!Number.isSafeInteger(partitionIndex) || partitionIndex >= MAX_PARTITIONS || String(partitionIndex) !== match[1]) {
      invalid(`bad partition suffix ${match[0]}`)
    }
    if (match.index === 0) invalid('empty topic before the partition suffix')
  }
  const prefix = `${PERSISTENT_DOMAIN}://${tenant}/${namespace}/`
  const full = prefix + localName
  const base = partitionIndex === NON_PARTITIONED ? full : prefix + localName.slice(0, match!.index)
  return { domain: PERSISTENT_DOMAIN, tenant, namespace, localName, partitionIndex, full, base }
}

/** The full name of partition `index` of `topic` (which must not itself be a partition). */
export function partitionTopicName (topic: string, index: number): string {
  const parsed = parseTopicName(topic)
  if (parsed.partitionIndex !== NON_PARTITIONED) {
    throw new InvalidTopicNameError({ topic, reason: 'already a partition name' })
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_PARTITIONS) {
    throw new InvalidTopicNameError({ topic, reason: `partition index ${index} outside [0, ${MAX_PARTITIONS})` })
  }
  return `${parsed.full}-partition-${index}`
}

/** `tenant/namespace` of a topic. */
export function namespaceOf (topic: TopicName): string {
  return `${topic.tenant}/${topic.namespace}`
}
