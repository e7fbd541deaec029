// In-process nodes on loopback (port 0): a fresh data dir needs --init or --join, a join with a
// wrong secret is refused, a right one admits the node, and a restarted node keeps its identity.
// A Pulsar port already in use stops the start cleanly (the process would not exit otherwise).
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlazarNode, NodeStartError, PinoLogger, resolveNodeConfig } from '../src/index.ts'

const logger = PinoLogger.create({ level: 'error', destination: '/dev/null' })

function config (dataDir: string, values: Record<string, unknown>) {
  return resolveNodeConfig({ name: 'test', values: { dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0, pulsarPort: 0, clusterSecret: 'right', electionTimeoutMs: 300, heartbeatIntervalMs: 50, ...values } })
}

t.test('creating, joining and restarting nodes', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'blazar-node-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })

  await t.rejects(BlazarNode.start(config(join(root, 'lonely'), {}), logger), NodeStartError, 'a fresh data dir without --init or --join does not start')

  const first = await BlazarNode.start(config(join(root, 'a'), { init: true }), logger)
  t.teardown(async () => { await first.stop() })
  const address = first.addresses()[0] as string

  await t.rejects(BlazarNode.start(config(join(root, 'intruder'), { join: [address], clusterSecret: 'wrong' }), logger), { name: 'NodeStartError', message: /could not join/ }, 'a wrong cluster secret is refused')

  const second = await BlazarNode.start(config(join(root, 'b'), { join: [address] }), logger)
  const id = second.id
  await second.stop()
  const again = await BlazarNode.start(config(join(root, 'b'), {}), logger)
  t.teardown(async () => { await again.stop() })
  t.equal(again.id, id, 'a restarted node keeps its PeerId and needs no --join')
})

t.test('a Pulsar port in use: NodeStartError, and nothing of the node keeps running', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'blazar-node-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  const squatter = createServer()
  await new Promise<void>((resolve) => { squatter.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { squatter.close() })
  const port = (squatter.address() as AddressInfo).port
  await t.rejects(BlazarNode.start(config(join(root, 'a'), { init: true, pulsarPort: port }), logger), { name: 'NodeStartError', message: /Pulsar clients on 127\.0\.0\.1/ })
})
