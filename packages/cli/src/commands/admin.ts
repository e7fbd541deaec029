// Admin commands over the client's admin API: `blazar tenants|namespaces|topics ...` and
// `blazar cluster status` (nodes, then one row per group replica with its leader, term,
// commit index and commit lag behind the group's most advanced replica).
import type { ClusterStatus } from '@blazar/client'
import { BACKLOG_QUOTA_POLICIES, BACKLOG_QUOTA_TYPES, type BacklogQuotaPolicy, type BacklogQuotaType, type NamespacePoliciesUpdate } from '@blazar/protocol'
import type { Command } from 'commander'
import { parseInteger, printJson, processIO, runner, table, withConnectionOptions, type CommandIO, type ConnectionFlags } from './client-io.ts'
import { topicStatsLines } from './topic-stats-text.ts'

function list (io: CommandIO, flags: ConnectionFlags, items: string[]): void {
  if (flags.json === true) printJson(io, items)
  else for (const item of items) io.out(item)
}

function done (io: CommandIO, flags: ConnectionFlags, what: string): void {
  if (flags.json === true) printJson(io, { ok: true })
  else io.out(what)
}

function parseBoolean (value: string): boolean {
  if (value === 'true') return true
  if (value === 'false') return false
  throw new Error(`expected true or false, got ${value}`)
}

/** A size as pulsar-admin takes it: bytes, or with a K, M, G or T suffix (powers of 1024); -1 = unlimited. */
export function parseSize (value: string): number {
  if (value === '-1') return -1
  const match = /^(\d+)([KMGT]?)$/i.exec(value)
  if (match === null) throw new Error(`not a size (bytes, or with K, M, G, T): ${value}`)
  const bytes = Number(match[1]) * 1024 ** ' KMGT'.indexOf((match[2] || ' ').toUpperCase())
  if (!Number.isSafeInteger(bytes)) throw new Error(`size too large: ${value}`)
  return bytes
}

function oneOf<T extends string> (what: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new Error(`${what} is one of ${allowed.join(', ')}`)
    return value as T
  }
}

function splitList (value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0)
}

export function registerTenants (program: Command, io: CommandIO = processIO): void {
  const run = runner(io)
  const tenants = program.command('tenants').description('create, list and delete tenants')
  withConnectionOptions(tenants.command('create <tenant>'))
    .option('--admin-roles <roles>', 'comma-separated admin roles', splitList)
    .option('--allowed-clusters <clusters>', 'comma-separated cluster names', splitList)
    .action(run(async (client, flags, tenant: string) => {
      const { adminRoles, allowedClusters } = flags as ConnectionFlags & { adminRoles?: string[], allowedClusters?: string[] }
      await client.admin.tenants.create(tenant, { adminRoles, allowedClusters })
      done(io, flags, `tenant ${tenant} created`)
    }))
  withConnectionOptions(tenants.command('list')).action(run(async (client, flags) => { list(io, flags, await client.admin.tenants.list()) }))
  withConnectionOptions(tenants.command('delete <tenant>')).action(run(async (client, flags, tenant: string) => {
    await client.admin.tenants.delete(tenant)
    done(io, flags, `tenant ${tenant} deleted`)
  }))
}

interface PolicyFlags {
  replicationFactor?: number
  autoTopicCreation?: boolean
  defaultPartitions?: number
  retentionMinutes?: number
  retentionMb?: number
  deduplication?: boolean
  maxMessageSize?: number
  durability?: string
  messageTtl?: number
  compactionThreshold?: number
}

function policiesOf (flags: PolicyFlags): NamespacePoliciesUpdate {
  const policies: NamespacePoliciesUpdate = {}
  if (flags.replicationFactor !== undefined) policies.replicationFactor = flags.replicationFactor
  if (flags.autoTopicCreation !== undefined) policies.autoTopicCreation = flags.autoTopicCreation
  if (flags.defaultPartitions !== undefined) policies.defaultNumPartitions = flags.defaultPartitions
  if (flags.retentionMinutes !== undefined) policies.retentionTimeMinutes = flags.retentionMinutes
  if (flags.retentionMb !== undefined) policies.retentionSizeMB = flags.retentionMb
  if (flags.deduplication !== undefined) policies.deduplication = flags.deduplication
  if (flags.maxMessageSize !== undefined) policies.maxMessageSize = flags.maxMessageSize
  if (flags.messageTtl !== undefined) policies.messageTTLSeconds = flags.messageTtl
  if (flags.compactionThreshold !== undefined) policies.compactionThreshold = flags.compactionThreshold
  if (flags.durability !== undefined) {
    if (flags.durability !== 'majority-fsync' && flags.durability !== 'majority-memory') throw new Error('--durability is majority-fsync or majority-memory')
    policies.durability = flags.durability
  }
  return policies
}

function withPolicyOptions (command: Command): Command {
  return command
    .option('--replication-factor <n>', 'replicas per partition', parseInteger)
    .option('--auto-topic-creation <bool>', 'create topics on first use (true|false)', parseBoolean)
    .option('--default-partitions <n>', 'partitions of auto-created topics', parseInteger)
    .option('--retention-minutes <n>', 'retention time (-1: unlimited)', parseInteger)
    .option('--retention-mb <n>', 'retention size (-1: unlimited)', parseInteger)
    .option('--deduplication <bool>', 'producer deduplication (true|false)', parseBoolean)
    .option('--max-message-size <bytes>', 'largest message or batch', parseInteger)
    .option('--message-ttl <seconds>', 'acknowledge messages older than this on every subscription (0: off)', parseInteger)
    .option('--compaction-threshold <bytes>', 'compact a partition once this many bytes arrived since its last compaction (0: off)', parseInteger)
    .option('--durability <mode>', 'majority-fsync (the default; majority-memory is refused until it is built)')
}

export function registerNamespaces (program: Command, io: CommandIO = processIO): void {
  const run = runner(io)
  const namespaces = program.command('namespaces').description('create, list, delete namespaces and set their policies')
  withPolicyOptions(withConnectionOptions(namespaces.command('create <namespace>'))).action(run(async (client, flags, namespace: string) => {
    const policies = policiesOf(flags as PolicyFlags)
    await client.admin.namespaces.create(namespace, Object.keys(policies).length > 0 ? policies : undefined)
    done(io, flags, `namespace ${namespace} created`)
  }))
  withConnectionOptions(namespaces.command('list <tenant>')).action(run(async (client, flags, tenant: string) => {
    list(io, flags, await client.admin.namespaces.list(tenant))
  }))
  withConnectionOptions(namespaces.command('delete <namespace>')).action(run(async (client, flags, namespace: string) => {
    await client.admin.namespaces.delete(namespace)
    done(io, flags, `namespace ${namespace} deleted`)
  }))
  withPolicyOptions(withConnectionOptions(namespaces.command('set-policies <namespace>'))).action(run(async (client, flags, namespace: string) => {
    const policies = policiesOf(flags as PolicyFlags)
    if (Object.keys(policies).length === 0) throw new Error('name at least one policy (see --help)')
    await client.admin.namespaces.setPolicies(namespace, policies)
    done(io, flags, `namespace ${namespace} policies set: ${JSON.stringify(policies)}`)
  }))
  registerBacklogCommands(namespaces, io)
}

/** pulsar-admin's message TTL and backlog quota commands on a namespace. */
function registerBacklogCommands (namespaces: Command, io: CommandIO): void {
  const run = runner(io)
  withConnectionOptions(namespaces.command('set-message-ttl <namespace> <seconds>').description('acknowledge messages older than this on every subscription (0: off)'))
    .action(run(async (client, flags, namespace: string, seconds: string) => {
      const messageTTLSeconds = parseInteger(seconds)
      if (messageTTLSeconds < 0) throw new Error('the message TTL is >= 0 seconds')
      await client.admin.namespaces.setPolicies(namespace, { messageTTLSeconds })
      done(io, flags, `namespace ${namespace} message TTL set to ${messageTTLSeconds} s`)
    }))
  withConnectionOptions(namespaces.command('get-message-ttl <namespace>')).action(run(async (client, flags, namespace: string) => {
    const { messageTTLSeconds } = await client.admin.namespaces.policies(namespace)
    if (flags.json === true) printJson(io, messageTTLSeconds)
    else io.out(String(messageTTLSeconds))
  }))
  withConnectionOptions(namespaces.command('remove-message-ttl <namespace>')).action(run(async (client, flags, namespace: string) => {
    await client.admin.namespaces.setPolicies(namespace, { messageTTLSeconds: 0 })
    done(io, flags, `namespace ${namespace} message TTL removed`)
  }))
  withConnectionOptions(namespaces.command('set-backlog-quota <namespace>').description('limit the backlog of every subscription by size or age'))
    .requiredOption('--policy <policy>', BACKLOG_QUOTA_POLICIES.join(' | '), oneOf('--policy', BACKLOG_QUOTA_POLICIES))
    .option('--type <type>', `${BACKLOG_QUOTA_TYPES.join(' | ')} (default destination_storage)`, oneOf('--type', BACKLOG_QUOTA_TYPES), 'destination_storage')
    .option('--limit <size>', 'destination_storage: backlog size (bytes, or 10M, 2G; -1 unlimited)', parseSize, -1)
    .option('--limit-time <seconds>', 'message_age: age of the oldest unacknowledged message (-1 unlimited)', parseInteger, -1)
    .action(run(async (client, flags, namespace: string) => {
      const { policy, type, limit, limitTime } = flags as ConnectionFlags & { policy: BacklogQuotaPolicy, type: BacklogQuotaType, limit: number, limitTime: number }
      if (type === 'destination_storage' ? limit < 0 : limitTime < 0) throw new Error(type === 'destination_storage' ? 'a destination_storage quota needs --limit' : 'a message_age quota needs --limit-time')
      const { backlogQuotas } = await client.admin.namespaces.policies(namespace)
      await client.admin.namespaces.setPolicies(namespace, { backlogQuotas: { ...backlogQuotas, [type]: { limitSize: limit, limitTime, policy } } })
      done(io, flags, `namespace ${namespace} ${type} backlog quota set: ${type === 'destination_storage' ? `${limit} bytes` : `${limitTime} s`}, ${policy}`)
    }))
  withConnectionOptions(namespaces.command('get-backlog-quotas <namespace>')).action(run(async (client, flags, namespace: string) => {
    const { backlogQuotas } = await client.admin.namespaces.policies(namespace)
    if (flags.json === true) printJson(io, backlogQuotas)
    else for (const [type, quota] of Object.entries(backlogQuotas)) io.out(`${type}: limitSize ${quota.limitSize} bytes, limitTime ${quota.limitTime} s, ${quota.policy}`)
  }))
  withConnectionOptions(namespaces.command('remove-backlog-quota <namespace>'))
    .option('--type <type>', `${BACKLOG_QUOTA_TYPES.join(' | ')} (default destination_storage)`, oneOf('--type', BACKLOG_QUOTA_TYPES), 'destination_storage')
    .action(run(async (client, flags, namespace: string) => {
      const { type } = flags as ConnectionFlags & { type: BacklogQuotaType }
      const { [type]: _removed, ...rest } = (await client.admin.namespaces.policies(namespace)).backlogQuotas
      await client.admin.namespaces.setPolicies(namespace, { backlogQuotas: rest })
      done(io, flags, `namespace ${namespace} ${type} backlog quota removed`)
    }))
}

export function registerTopics (program: Command, io: CommandIO = processIO): void {
  const run = runner(io)
  const topics = program.command('topics').description('create, list, delete topics and show their stats')
  withConnectionOptions(topics.command('create <topic>'))
    .option('-p, --partitions <n>', 'partitions (0: a non-partitioned topic)', parseInteger, 0)
    .action(run(async (client, flags, topic: string) => {
      const partitions = (flags as { partitions: number }).partitions
      await client.admin.topics.create(topic, partitions)
      done(io, flags, `topic ${topic} created${partitions > 0 ? ` with ${partitions} partitions` : ''}`)
    }))
  withConnectionOptions(topics.command('list [namespace]')).action(run(async (client, flags, namespace: string | undefined) => {
    list(io, flags, await client.admin.topics.list(namespace ?? 'public/default'))
  }))
  withConnectionOptions(topics.command('delete <topic>'))
    .option('-f, --force', 'delete even with producers, consumers or subscriptions')
    .action(run(async (client, flags, topic: string) => {
      await client.admin.topics.delete(topic, { force: (flags as { force?: boolean }).force === true })
      done(io, flags, `topic ${topic} deleted`)
    }))
  withConnectionOptions(topics.command('move-replica <partition> <from> <to>'))
    .description('move one replica of a partition (or non-partitioned topic) between nodes (PeerIds)')
    .action(run(async (client, flags, partition: string, from: string, to: string) => {
      await client.admin.topics.moveReplica(partition, from, to)
      done(io, flags, `moving ${partition} from ${from} to ${to}`)
    }))
  withConnectionOptions(topics.command('force-recover <partition>'))
    .description('rebuild a partition that lost its majority for good from one surviving replica (what only the lost replicas held is LOST)')
    .option('--survivor <node>', 'the replica to keep (default: the reachable one with the highest commit index)')
    .option('--accept-data-loss', 'required: acknowledged messages only the lost replicas held are gone for good')
    .action(run(async (client, connection, partition: string) => {
      const flags = connection as ConnectionFlags & { survivor?: string, acceptDataLoss?: boolean }
      if (flags.acceptDataLoss !== true) throw new Error('force-recover loses what only the lost replicas held: run it again with --accept-data-loss')
      const result = await client.admin.topics.forceRecover(partition, flags.survivor === undefined ? {} : { survivor: flags.survivor })
      if (flags.json === true) { printJson(io, result); return }
      io.out(`${partition}: rebuilt from ${result.survivor} at commit index ${result.commitIndex}.`)
      io.out('WARNING: messages acknowledged after that index by the lost replicas are gone; the partition now grows back to its replication factor.')
    }))
  withConnectionOptions(topics.command('compact <topic>'))
    .description('compact every partition now: keep the latest message per key for readCompacted readers (Pulsar\'s topics compact)')
    .action(run(async (client, flags, topic: string) => {
      const partitions = await client.admin.topics.compact(topic)
      if (flags.json === true) { printJson(io, partitions); return }
      for (const { group, horizon } of partitions) io.out(`${group}: compacting up to index ${horizon}`)
    }))
  withConnectionOptions(topics.command('compaction-status <topic>'))
    .description('each partition\'s compaction: NOT_RUN, RUNNING, SUCCESS or ERROR, its horizon and keys')
    .action(run(async (client, flags, topic: string) => {
      const partitions = await client.admin.topics.compactionStatus(topic)
      if (flags.json === true) { printJson(io, partitions); return }
      for (const p of partitions) io.out(`${p.group}: ${p.status} horizon ${p.horizon}, ${p.keys} keys${p.lastError === undefined ? '' : ` (${p.lastError})`}`)
    }))
  withConnectionOptions(topics.command('stats <topic>')).action(run(async (client, flags, topic: string) => {
    const stats = await client.admin.topics.stats(topic)
    if (flags.json === true) { printJson(io, stats); return }
    for (const line of topicStatsLines(stats)) io.out(line)
  }))
}

/** Rows of `cluster status`: each replica with its lag behind the group's highest commit index. */
export function statusRows (status: ClusterStatus): Array<Record<string, string | number>> {
  const highest = new Map<string, number>()
  for (const row of status.groups) highest.set(row.group, Math.max(highest.get(row.group) ?? 0, row.commitIndex))
  return status.groups.map((row) => ({
    group: row.group,
    node: row.node ?? '-',
    role: row.role ?? '-',
    leader: row.leader ?? '-',
    term: row.term,
    commitIndex: row.commitIndex,
    commitLag: (highest.get(row.group) ?? 0) - row.commitIndex
  }))
}

export function registerCluster (program: Command, io: CommandIO = processIO): void {
  const run = runner(io)
  const cluster = program.command('cluster').description('the cluster as the nodes report it')
  withConnectionOptions(cluster.command('status')).description('nodes, and every group replica with leader, term, commit index and commit lag')
    .action(run(async (client, flags) => {
      const status = await client.admin.cluster.status()
      const rows = statusRows(status)
      if (flags.json === true) { printJson(io, { leader: status.leader, nodes: status.nodes, groups: rows }); return }
      io.out(`metadata leader: ${status.leader ?? 'none'}`)
      io.out(`nodes (${status.nodes.length}):`)
      for (const node of table(status.nodes.map((n) => ({ id: n.id, state: n.state, zone: n.zone ?? '-', addresses: n.addresses.join(' ') })))) io.out(`  ${node}`)
      io.out(`groups (${new Set(status.groups.map((g) => g.group)).size}, ${status.groups.length} replicas):`)
      for (const row of table(rows)) io.out(`  ${row}`)
    }))
}
