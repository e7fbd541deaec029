// The `blazar` command tree. Each subcommand lives in its own module under commands/ and is
// registered here.
import { Command } from 'commander'
import { registerCluster, registerNamespaces, registerTenants, registerTopics } from './commands/admin.ts'
import { registerNodes } from './commands/nodes.ts'
import { registerBench } from './commands/bench.ts'
import { registerConsume } from './commands/consume.ts'
import { registerLocalCluster } from './commands/local-cluster.ts'
import { registerNode } from './commands/node.ts'
import { registerProduce } from './commands/produce.ts'
import { registerSim } from './commands/sim.ts'

export function buildProgram (): Command {
  const program = new Command()
  program
    .name('blazar')
    .description('Blazar: a distributed message broker with Pulsar semantics and a Raft group per partition')
    .version('0.1.0')
    .showHelpAfterError()
  registerNode(program)
  registerLocalCluster(program)
  registerProduce(program)
  registerConsume(program)
  registerTopics(program)
  registerTenants(program)
  registerNamespaces(program)
  registerCluster(program)
  registerNodes(program)
  registerBench(program)
  registerSim(program)
  return program
}
