// `blazar produce <topic> -m <msg>...`: publishes each message `-n` times (Pulsar's
// `pulsar-client produce`) and prints each message ID once the node has committed it.
import type { MessageId } from '@blazar/client'
import type { Command } from 'commander'
import { parseInteger, printJson, processIO, withClient, withConnectionOptions, type CommandIO, type ConnectionFlags } from './client-io.ts'

interface ProduceFlags extends ConnectionFlags {
  messages: string[]
  num: number
  key?: string
  property: string[]
  disableBatching?: boolean
}

function collect (value: string, previous: string[]): string[] {
  return [...previous, value]
}

function propertiesOf (entries: string[]): Record<string, string> {
  const properties: Record<string, string> = {}
  for (const entry of entries) {
    const at = entry.indexOf('=')
    if (at <= 0) throw new Error(`a property is name=value, got ${entry}`)
    properties[entry.slice(0, at)] = entry.slice(at + 1)
  }
  return properties
}

export function registerProduce (program: Command, io: CommandIO = processIO): void {
  withConnectionOptions(program.command('produce <topic>'))
    .description('publish messages and print their message IDs')
    .requiredOption('-m, --messages <message>', 'message text (repeatable)', collect, [])
    .option('-n, --num <count>', 'times to send each message', parseInteger, 1)
    .option('-k, --key <key>', 'message key (routes to one partition)')
    .option('-p, --property <name=value>', 'message property (repeatable)', collect, [])
    .option('--disable-batching', 'send each message on its own')
    .action(async (topic: string, flags: ProduceFlags) => {
      await withClient(flags, io, async (client) => {
        if (flags.num < 1) throw new Error('--num must be at least 1')
        const properties = propertiesOf(flags.property)
        const producer = await client.createProducer({ topic, batchingEnabled: flags.disableBatching !== true })
        const sends: Array<{ text: string, sent: Promise<MessageId> }> = []
        for (let round = 0; round < flags.num; round++) {
          for (const text of flags.messages) {
            sends.push({ text, sent: producer.send({ data: text, properties, ...(flags.key === undefined ? {} : { key: flags.key }) }) })
          }
        }
        await producer.flush()
        let failed = 0
        for (const { text, sent } of sends) {
          try {
            const id = await sent
            if (flags.json === true) printJson(io, { messageId: id.toString(), partition: id.partition, index: id.index, batchIndex: id.batchIndex, data: text })
            else io.out(`${id.toString()} ${text}`)
          } catch (error) {
            failed++
            io.err(`error: ${text}: ${(error as Error).message}`)
          }
        }
        await producer.close()
        if (flags.json !== true) io.out(`${sends.length - failed} message(s) produced to ${producer.getTopic()}${failed > 0 ? `, ${failed} failed` : ''}`)
        if (failed > 0) process.exitCode = 1
      })
    })
}
