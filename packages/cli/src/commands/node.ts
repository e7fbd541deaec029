// `blazar node start`: runs one Blazar node in this process until SIGTERM/SIGINT, which
// hands off leadership and stops cleanly. Settings come from --config (JSON), BLAZAR_*
// environment variables and flags, in that order of precedence (flags win).
import { readFile } from 'node:fs/promises'
import { BlazarNode, ConfigError, PinoLogger, configFromEnvironment, resolveNodeConfig, type NodeConfig } from '@blazar/node'
import type { Command } from 'commander'

interface StartFlags {
  config?: string
  dataDir?: string
  listen?: string[]
  httpHost?: string
  httpPort?: string
  pulsarHost?: string
  pulsarPort?: string
  name?: string
  zone?: string
  clusterSecret?: string
  init?: boolean
  join?: string[]
  electionTimeoutMs?: string
  heartbeatMs?: string
  logLevel?: string
}

export function registerNode (program: Command): void {
  const node = program.command('node').description('run a Blazar node')
  node.command('start')
    .description('start a node: --init creates a cluster, --join <multiaddr> joins one, a used data dir restarts')
    .option('--config <file>', 'JSON config file (keys as in docs/deploy.md)')
    .option('--data-dir <dir>', 'node key, Raft logs and cluster.json (BLAZAR_DATA_DIR)')
    .option('--listen <multiaddr...>', 'libp2p listen addresses (default /ip4/127.0.0.1/tcp/6660; BLAZAR_LISTEN)')
    .option('--http-host <host>', 'HTTP bind host (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP port, 0 = off (default 8080; BLAZAR_HTTP_PORT)')
    .option('--pulsar-host <host>', 'Pulsar protocol bind host (default 127.0.0.1; BLAZAR_PULSAR_HOST)')
    .option('--pulsar-port <port>', 'Pulsar protocol port, 0 = off (default 6650; BLAZAR_PULSAR_PORT)')
    .option('--name <name>', 'node name for logs (BLAZAR_NODE_NAME)')
    .option('--zone <zone>', 'failure zone for replica placement (BLAZAR_ZONE)')
    .option('--cluster-secret <secret>', 'shared secret that admits joining nodes (BLAZAR_CLUSTER_SECRET)')
    .option('--init', 'create a new cluster with this node as its first member')
    .option('--join <multiaddr...>', 'join the cluster through these members (BLAZAR_JOIN)')
    .option('--election-timeout-ms <ms>', 'Raft election timeout (default 1000)')
    .option('--heartbeat-ms <ms>', 'Raft heartbeat interval (default 100)')
    .option('--log-level <level>', 'debug, info, warn or error (BLAZAR_LOG_LEVEL)')
    .action(async (flags: StartFlags) => {
      let config: NodeConfig
      try {
        const file = flags.config === undefined ? {} : JSON.parse(await readFile(flags.config, 'utf8')) as Record<string, unknown>
        config = resolveNodeConfig(
          { name: flags.config ?? 'config file', values: file },
          { name: 'environment', values: configFromEnvironment(process.env) },
          {
            name: 'flags',
            values: {
              dataDir: flags.dataDir,
              listen: flags.listen,
              httpHost: flags.httpHost,
              httpPort: flags.httpPort,
              pulsarHost: flags.pulsarHost,
              pulsarPort: flags.pulsarPort,
              nodeName: flags.name,
              zone: flags.zone,
              clusterSecret: flags.clusterSecret,
              init: flags.init,
              join: flags.join,
              electionTimeoutMs: flags.electionTimeoutMs,
              heartbeatIntervalMs: flags.heartbeatMs,
              logLevel: flags.logLevel
            }
          }
        )
      } catch (error) {
        if (!(error instanceof ConfigError) && !(error instanceof SyntaxError)) throw error
        process.stderr.write(`blazar node start: ${error.message}\n`)
        process.exitCode = 2
        return
      }
      const logger = PinoLogger.create({ level: config.logLevel, name: config.nodeName })
      const running = await BlazarNode.start(config, logger)
      process.stderr.write(`blazar node ${running.id} listening on ${running.addresses().join(' ')}\n`)
      const stop = (signal: string): void => {
        logger.info('stopping', { signal })
        running.stop().then(() => { process.exit(0) }, (error: unknown) => {
          process.stderr.write(`blazar node: shutdown failed: ${String(error)}\n`)
          process.exit(1)
        })
      }
      process.once('SIGTERM', () => { stop('SIGTERM') })
      process.once('SIGINT', () => { stop('SIGINT') })
    })
}
