// `blazar consume <topic> -s <subscription>`: receives `-n` messages (0: until interrupted),
// prints each with its message ID, and acknowledges it (Pulsar's `pulsar-client consume`).
import { INITIAL_POSITIONS, SUBSCRIPTION_TYPES, type InitialPosition, type SubscriptionType } from '@blazar/protocol'
import type { Command } from 'commander'
import type { Message } from '@blazar/client'
import { parseInteger, printJson, processIO, withClient, withConnectionOptions, type CommandIO, type ConnectionFlags } from './client-io.ts'

interface ConsumeFlags extends ConnectionFlags {
  subscription: string
  num: number
  initialPosition: InitialPosition
  type: SubscriptionType
  timeoutMs?: number
}

function oneOf<T extends string> (allowed: readonly T[], what: string): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value)) throw new Error(`${what} must be one of ${allowed.join(', ')}`)
    return value as T
  }
}

const decoder = new TextDecoder()

function describe (message: Message): Record<string, unknown> {
  return {
    messageId: message.messageId.toString(),
    topic: message.topic,
    key: message.key ?? null,
    properties: message.properties,
    publishTime: message.publishTime,
    eventTime: message.eventTime,
    redeliveryCount: message.redeliveryCount,
    data: decoder.decode(message.data)
  }
}

export function registerConsume (program: Command, io: CommandIO = processIO): void {
  withConnectionOptions(program.command('consume <topic>'))
    .description('receive, print and acknowledge messages')
    .requiredOption('-s, --subscription <name>', 'subscription name')
    .option('-n, --num <count>', 'messages to receive (0: until interrupted)', parseInteger, 1)
    .option('--initial-position <position>', `where a new subscription starts (${INITIAL_POSITIONS.join(' | ')})`, oneOf(INITIAL_POSITIONS, '--initial-position'), 'Latest')
    .option('-t, --type <type>', `subscription type (${SUBSCRIPTION_TYPES.join(' | ')})`, oneOf(SUBSCRIPTION_TYPES, '--type'), 'Exclusive')
    .option('--timeout-ms <ms>', 'fail when no message arrives for this long', parseInteger)
    .action(async (topic: string, flags: ConsumeFlags) => {
      await withClient(flags, io, async (client) => {
        const consumer = await client.subscribe({
          topic, subscription: flags.subscription, subscriptionType: flags.type, subscriptionInitialPosition: flags.initialPosition
        })
        let stop = false
        const interrupt = () => { stop = true; consumer.close().catch(() => {}) }
        process.once('SIGINT', interrupt)
        try {
          for (let received = 0; !stop && (flags.num === 0 || received < flags.num); received++) {
            let message: Message
            try {
              message = await consumer.receive(flags.timeoutMs)
            } catch (error) {
              if (stop) break
              throw error
            }
            const fields = describe(message)
            if (flags.json === true) printJson(io, fields)
            else io.out(`${fields.messageId} ${message.key === undefined ? '' : `key=${message.key} `}${fields.data as string}`)
            await consumer.acknowledge(message)
          }
        } finally {
          process.removeListener('SIGINT', interrupt)
          await consumer.close()
        }
      })
    })
}
