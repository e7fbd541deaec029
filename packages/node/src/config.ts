// A node's configuration: defaults, then a JSON config file, then BLAZAR_* environment
// variables, then command-line flags (each later source overrides the earlier ones). Every
// field is validated; a bad value is a ConfigError naming the setting and its source.

export interface NodeConfig {
  /** Holds the node key, the Raft logs and cluster.json. */
  dataDir: string
  /** libp2p listen multiaddrs (peers and @blazar/client). Default /ip4/127.0.0.1/tcp/6660. */
  listen: string[]
  /** HTTP (health and status) bind host and port; port 0 disables it. */
  httpHost: string
  httpPort: number
  /** Pulsar binary protocol (`pulsar://host:port`) bind host and port; port 0 disables it. */
  pulsarHost: string
  pulsarPort: number
  /** Human-readable name shown in logs (the node's identity is its PeerId). */
  nodeName: string | null
  /** Failure zone for placement (replicas spread over zones when set). */
  zone: string | null
  /** Required to admit joining nodes (and to join). */
  clusterSecret: string | null
  /** Create a new cluster with this node as its first member (fresh data dir only). */
  init: boolean
  /** Multiaddrs (with /p2p/<id>) of existing members to join through (fresh data dir only). */
  join: string[]
  electionTimeoutMs: number
  heartbeatIntervalMs: number
  /** The cluster's name in the admin API (GET /admin/v2/clusters) and the metrics' `cluster` label. */
  clusterName: string
  /** Partitions a node exports per-topic metric series for; above it, per namespace only (bounded cardinality). */
  metricsMaxTopics: number
  /** How often a partition leader trims what retention no longer keeps (Pulsar retentionCheckIntervalInSeconds, 120 s). */
  retentionCheckIntervalMs: number
  /** How often a partition leader applies message TTL (Pulsar messageExpiryCheckIntervalInMinutes, 5 min). */
  messageExpiryCheckIntervalMs: number
  /** How often a partition leader enforces consumer_backlog_eviction quotas (Pulsar backlogQuotaCheckIntervalInSeconds, 60 s). */
  backlogQuotaCheckIntervalMs: number
  /** How often a partition leader checks the namespace's compactionThreshold (Pulsar brokerServiceCompactionMonitorIntervalInSeconds, 60 s). */
  compactionCheckIntervalMs: number
  /** How long a send waits under a producer_request_hold backlog quota before it fails (Pulsar's default send timeout, 30 s). */
  backlogQuotaHoldMs: number
  /** Size at which a log segment file is closed; retention deletes whole segments (64 MiB). */
  segmentBytes: number
  /**
   * How long a node must have been marked down before the metadata leader moves its replicas to
   * live nodes (default 10 minutes, like Redpanda's and Pulsar's operators expect: a restart or a
   * short outage must not trigger a copy of everything the node held).
   */
  reReplicationDelayMs: number
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}

export const DEFAULT_NODE_CONFIG: Omit<NodeConfig, 'dataDir'> = {
  listen: ['/ip4/127.0.0.1/tcp/6660'],
  httpHost: '127.0.0.1',
  httpPort: 8080,
  pulsarHost: '127.0.0.1',
  pulsarPort: 6650,
  nodeName: null,
  zone: null,
  clusterSecret: null,
  init: false,
  join: [],
  electionTimeoutMs: 1000,
  heartbeatIntervalMs: 100,
  clusterName: 'blazar',
  metricsMaxTopics: 1000,
  retentionCheckIntervalMs: 120_000,
  messageExpiryCheckIntervalMs: 300_000,
  backlogQuotaCheckIntervalMs: 60_000,
  compactionCheckIntervalMs: 60_000,
  backlogQuotaHoldMs: 30_000,
  segmentBytes: 64 * 2 ** 20,
  reReplicationDelayMs: 600_000,
  logLevel: 'info'
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type RawConfig = Partial<Record<keyof NodeConfig, unknown>>

const ENVIRONMENT: Record<string, keyof NodeConfig> = {
  BLAZAR_DATA_DIR: 'dataDir',
  BLAZAR_LISTEN: 'listen',
  BLAZAR_HTTP_HOST: 'httpHost',
  BLAZAR_HTTP_PORT: 'httpPort',
  BLAZAR_PULSAR_HOST: 'pulsarHost',
  BLAZAR_PULSAR_PORT: 'pulsarPort',
  BLAZAR_NODE_NAME: 'nodeName',
  BLAZAR_ZONE: 'zone',
  BLAZAR_CLUSTER_SECRET: 'clusterSecret',
  BLAZAR_JOIN: 'join',
  BLAZAR_LOG_LEVEL: 'logLevel',
  BLAZAR_CLUSTER_NAME: 'clusterName',
  BLAZAR_METRICS_MAX_TOPICS: 'metricsMaxTopics',
  BLAZAR_RETENTION_CHECK_INTERVAL_MS: 'retentionCheckIntervalMs',
  BLAZAR_MESSAGE_EXPIRY_CHECK_INTERVAL_MS: 'messageExpiryCheckIntervalMs',
  BLAZAR_BACKLOG_QUOTA_CHECK_INTERVAL_MS: 'backlogQuotaCheckIntervalMs',
  BLAZAR_COMPACTION_CHECK_INTERVAL_MS: 'compactionCheckIntervalMs',
  BLAZAR_BACKLOG_QUOTA_HOLD_MS: 'backlogQuotaHoldMs',
  BLAZAR_SEGMENT_BYTES: 'segmentBytes',
  BLAZAR_RE_REPLICATION_DELAY_MS: 'reReplicationDelayMs'
}

/** The BLAZAR_* variables of `env` as raw settings (lists are comma-separated). */
export function configFromEnvironment (env: Record<string, string | undefined>): RawConfig {
  const raw: RawConfig = {}
  for (const [variable, key] of Object.entries(ENVIRONMENT)) {
    const value = env[variable]
    if (value !== undefined && value !== '') raw[key] = value
  }
  return raw
}

/** Merges the sources in order (later wins) and validates the result. */
export function resolveNodeConfig (...sources: Array<{ name: string, values: RawConfig }>): NodeConfig {
  const merged: Record<string, { value: unknown, source: string }> = {}
  for (const { name, values } of sources) {
    for (const [key, value] of Object.entries(values)) if (value !== undefined) merged[key] = { value, source: name }
  }
  for (const key of Object.keys(merged)) {
    if (!(key in DEFAULT_NODE_CONFIG) && key !== 'dataDir') throw new ConfigError(`unknown setting ${key} (from ${merged[key]?.source})`)
  }
  const get = (key: keyof NodeConfig): { value: unknown, source: string } | undefined => merged[key]
  const dataDir = get('dataDir')
  if (dataDir === undefined) throw new ConfigError('dataDir is required (--data-dir, BLAZAR_DATA_DIR or the config file)')
  const config: NodeConfig = {
    dataDir: text('dataDir', dataDir),
    listen: list('listen', get('listen')) ?? DEFAULT_NODE_CONFIG.listen,
    httpHost: optionalText('httpHost', get('httpHost')) ?? DEFAULT_NODE_CONFIG.httpHost,
    httpPort: integer('httpPort', get('httpPort'), 0, 65_535) ?? DEFAULT_NODE_CONFIG.httpPort,
    pulsarHost: optionalText('pulsarHost', get('pulsarHost')) ?? DEFAULT_NODE_CONFIG.pulsarHost,
    pulsarPort: integer('pulsarPort', get('pulsarPort'), 0, 65_535) ?? DEFAULT_NODE_CONFIG.pulsarPort,
    nodeName: optionalText('nodeName', get('nodeName')) ?? null,
    zone: optionalText('zone', get('zone')) ?? null,
    clusterSecret: optionalText('clusterSecret', get('clusterSecret')) ?? null,
    init: flag('init', get('init')) ?? false,
    join: list('join', get('join')) ?? [],
    electionTimeoutMs: integer('electionTimeoutMs', get('electionTimeoutMs'), 50, 600_000) ?? DEFAULT_NODE_CONFIG.electionTimeoutMs,
    heartbeatIntervalMs: integer('heartbeatIntervalMs', get('heartbeatIntervalMs'), 10, 60_000) ?? DEFAULT_NODE_CONFIG.heartbeatIntervalMs,
    clusterName: optionalText('clusterName', get('clusterName')) ?? DEFAULT_NODE_CONFIG.clusterName,
    metricsMaxTopics: integer('metricsMaxTopics', get('metricsMaxTopics'), 0, 1_000_000) ?? DEFAULT_NODE_CONFIG.metricsMaxTopics,
    retentionCheckIntervalMs: integer('retentionCheckIntervalMs', get('retentionCheckIntervalMs'), 100, 86_400_000) ?? DEFAULT_NODE_CONFIG.retentionCheckIntervalMs,
    messageExpiryCheckIntervalMs: integer('messageExpiryCheckIntervalMs', get('messageExpiryCheckIntervalMs'), 100, 86_400_000) ?? DEFAULT_NODE_CONFIG.messageExpiryCheckIntervalMs,
    backlogQuotaCheckIntervalMs: integer('backlogQuotaCheckIntervalMs', get('backlogQuotaCheckIntervalMs'), 100, 86_400_000) ?? DEFAULT_NODE_CONFIG.backlogQuotaCheckIntervalMs,
    compactionCheckIntervalMs: integer('compactionCheckIntervalMs', get('compactionCheckIntervalMs'), 100, 86_400_000) ?? DEFAULT_NODE_CONFIG.compactionCheckIntervalMs,
    backlogQuotaHoldMs: integer('backlogQuotaHoldMs', get('backlogQuotaHoldMs'), 0, 3_600_000) ?? DEFAULT_NODE_CONFIG.backlogQuotaHoldMs,
    segmentBytes: integer('segmentBytes', get('segmentBytes'), 64 * 1024, 2 ** 30) ?? DEFAULT_NODE_CONFIG.segmentBytes,
    reReplicationDelayMs: integer('reReplicationDelayMs', get('reReplicationDelayMs'), 0, 7 * 24 * 3_600_000) ?? DEFAULT_NODE_CONFIG.reReplicationDelayMs,
    logLevel: level(get('logLevel')) ?? DEFAULT_NODE_CONFIG.logLevel
  }
  if (config.init && config.join.length > 0) throw new ConfigError('--init and --join exclude each other')
  if (config.heartbeatIntervalMs >= config.electionTimeoutMs) throw new ConfigError('heartbeatIntervalMs must be below electionTimeoutMs')
  if (config.join.length > 0 && config.clusterSecret === null) throw new ConfigError('joining needs the cluster secret (--cluster-secret or BLAZAR_CLUSTER_SECRET)')
  for (const address of [...config.listen, ...config.join]) {
    if (!address.startsWith('/')) throw new ConfigError(`${address} is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/6660)`)
  }
  return config
}

function text (key: string, entry: { value: unknown, source: string }): string {
  if (typeof entry.value !== 'string' || entry.value.length === 0) throw new ConfigError(`${key} must be a non-empty string (from ${entry.source})`)
  return entry.value
}

function optionalText (key: string, entry: { value: unknown, source: string } | undefined): string | undefined {
  return entry === undefined || entry.value === null ? undefined : text(key, entry)
}

function list (key: string, entry: { value: unknown, source: string } | undefined): string[] | undefined {
  if (entry === undefined) return undefined
  const values = typeof entry.value === 'string' ? entry.value.split(',').map((v) => v.trim()).filter((v) => v.length > 0) : entry.value
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new ConfigError(`${key} must be a list of strings (from ${entry.source})`)
  return values as string[]
}

function integer (key: string, entry: { value: unknown, source: string } | undefined, min: number, max: number): number | undefined {
  if (entry === undefined) return undefined
  const value = typeof entry.value === 'string' ? Number(entry.value) : entry.value
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer in [${min}, ${max}] (from ${entry.source}, got ${String(entry.value)})`)
  }
  return value
}

function flag (key: string, entry: { value: unknown, source: string } | undefined): boolean | undefined {
  if (entry === undefined) return undefined
  if (typeof entry.value === 'boolean') return entry.value
  if (entry.value === 'true' || entry.value === '1') return true
  if (entry.value === 'false' || entry.value === '0') return false
  throw new ConfigError(`${key} must be true or false (from ${entry.source})`)
}

function level (entry: { value: unknown, source: string } | undefined): NodeConfig['logLevel'] | undefined {
  if (entry === undefined) return undefined
  if (entry.value === 'debug' || entry.value === 'info' || entry.value === 'warn' || entry.value === 'error') return entry.value
  throw new ConfigError(`logLevel must be debug, info, warn or error (from ${entry.source})`)
}
