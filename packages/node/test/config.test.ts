import t from 'tap'
import { ConfigError, DEFAULT_NODE_CONFIG, configFromEnvironment, resolveNodeConfig } from '../src/index.ts'

t.test('defaults, then file, then environment, then flags', async (t) => {
  const config = resolveNodeConfig(
    { name: 'file', values: { dataDir: '/var/lib/blazar', httpPort: 9000, zone: 'a' } },
    { name: 'environment', values: configFromEnvironment({ BLAZAR_HTTP_PORT: '9100', BLAZAR_LISTEN: '/ip4/0.0.0.0/tcp/6650, /ip6/::/tcp/6650' }) },
    { name: 'flags', values: { httpPort: '9200', nodeName: 'n1', init: true } }
  )
  t.equal(config.dataDir, '/var/lib/blazar')
  t.equal(config.httpPort, 9200, 'flags win over the environment and the file')
  t.same(config.listen, ['/ip4/0.0.0.0/tcp/6650', '/ip6/::/tcp/6650'], 'lists in the environment are comma-separated')
  t.equal(config.zone, 'a')
  t.equal(config.nodeName, 'n1')
  t.equal(config.init, true)
  t.equal(config.electionTimeoutMs, DEFAULT_NODE_CONFIG.electionTimeoutMs)
  const defaults = resolveNodeConfig({ name: 'flags', values: { dataDir: 'd' } })
  t.same(defaults.listen, ['/ip4/127.0.0.1/tcp/6660'], 'libp2p binds to loopback by default, off the Pulsar port')
  t.same([defaults.pulsarHost, defaults.pulsarPort], ['127.0.0.1', 6650], 'the Pulsar protocol listens on its usual port')
  t.equal(resolveNodeConfig({ name: 'environment', values: configFromEnvironment({ BLAZAR_DATA_DIR: 'd', BLAZAR_PULSAR_PORT: '0' }) }).pulsarPort, 0, 'BLAZAR_PULSAR_PORT=0 turns it off')
})

t.test('bad settings are ConfigErrors naming the setting and its source', async (t) => {
  const bad = (values: Record<string, unknown>, pattern: RegExp, what: string): void => {
    t.throws(() => resolveNodeConfig({ name: 'flags', values: { dataDir: 'd', ...values } }), { name: 'ConfigError', message: pattern }, what)
  }
  t.throws(() => resolveNodeConfig({ name: 'flags', values: {} }), ConfigError, 'the data dir is required')
  bad({ httpPort: '70000' }, /httpPort.*flags/, 'port out of range')
  bad({ pulsarPort: '-1' }, /pulsarPort/, 'Pulsar port out of range')
  bad({ electionTimeoutMs: 'soon' }, /electionTimeoutMs/, 'not a number')
  bad({ init: true, join: ['/ip4/127.0.0.1/tcp/1/p2p/x'], clusterSecret: 's' }, /exclude/, '--init with --join')
  bad({ join: ['/ip4/127.0.0.1/tcp/1/p2p/x'] }, /secret/, 'joining without the secret')
  bad({ listen: ['127.0.0.1:6650'] }, /multiaddr/, 'a host:port instead of a multiaddr')
  bad({ heartbeatIntervalMs: 2000 }, /below electionTimeoutMs/, 'heartbeat not below the election timeout')
  bad({ logLevel: 'loud' }, /logLevel/, 'unknown log level')
  bad({ colour: 'blue' }, /unknown setting colour/, 'a typo in a setting name')
})

t.test('policy check intervals, the hold time and the segment size are settings (Pulsar\'s defaults)', async (t) => {
  const defaults = resolveNodeConfig({ name: 'flags', values: { dataDir: 'd' } })
  t.match(defaults, { retentionCheckIntervalMs: 120_000, messageExpiryCheckIntervalMs: 300_000, backlogQuotaCheckIntervalMs: 60_000, backlogQuotaHoldMs: 30_000, segmentBytes: 64 * 2 ** 20 })
  const set = resolveNodeConfig({
    name: 'environment',
    values: configFromEnvironment({ BLAZAR_DATA_DIR: 'd', BLAZAR_MESSAGE_EXPIRY_CHECK_INTERVAL_MS: '1000', BLAZAR_BACKLOG_QUOTA_HOLD_MS: '0', BLAZAR_SEGMENT_BYTES: '65536' })
  })
  t.match(set, { messageExpiryCheckIntervalMs: 1000, backlogQuotaHoldMs: 0, segmentBytes: 65_536 })
  t.throws(() => resolveNodeConfig({ name: 'f', values: { dataDir: 'd', segmentBytes: 1024 } }), /segmentBytes must be an integer in \[65536/)
})
