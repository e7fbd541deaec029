// pulsar-flex (the pure-JS Pulsar client from npm, unmodified) against a Blazar node: a consumer
// subscribes (pulsar-flex always starts at Latest), a producer sends single messages and a
// batch, the consumer receives and acknowledges them all. Usage: node flex-round-trip.cjs
// <host:port> <topic> <count>. Prints `RESULT <json>` and exits 0, or exits 1 with the reason.
const { Producer, Consumer, logLevel } = require('pulsar-flex')

const [server, topic, countText] = process.argv.slice(2)
const count = Number(countText)
const deadline = setTimeout(() => { fail(new Error(`not every message arrived within 60 s`)) }, 60_000)

function fail (error) {
  process.stderr.write(`flex-round-trip: ${error.stack ?? error}\n`)
  process.exit(1)
}

async function main () {
  const consumer = new Consumer({ topic, subscription: 'flex-sub', discoveryServers: [server], subType: Consumer.SUB_TYPES.SHARED, consumerName: 'flex-consumer', receiveQueueSize: 100, logLevel: logLevel.ERROR })
  await consumer.subscribe()
  const received = []
  let done
  const all = new Promise((resolve) => { done = resolve })
  await consumer.run({
    autoAck: false,
    onMessage: async ({ ack, message, properties, redeliveryCount }) => {
      await ack()
      received.push({ payload: Buffer.from(message).toString(), properties, redeliveryCount })
      if (received.length === count) done()
    }
  })
  const producer = new Producer({ topic, discoveryServers: [server], producerAccessMode: Producer.ACCESS_MODES.SHARED, logLevel: logLevel.ERROR })
  await producer.create()
  const half = Math.floor(count / 2)
  for (let i = 0; i < half; i++) await producer.sendMessage({ payload: `flex-${i}`, properties: { i: String(i) } })
  await producer.sendBatch({ messages: Array.from({ length: count - half }, (_, j) => ({ payload: `flex-${half + j}`, properties: { i: String(half + j) } })) })
  await all
  clearTimeout(deadline)
  process.stdout.write(`RESULT ${JSON.stringify({ received })}\n`)
  process.exit(0)
}

main().catch(fail)
