// PartitionRates on the virtual clock: in-rates per producer from applied batches, out and
// redelivery rates per consumer from deliveries, the out counters, and idle entries dropped.
import t from 'tap'
import { VirtualClock } from '@blazar/env'
import { CompressionCodecs, encodeBatch, type DeliveredEntry } from '@blazar/protocol'
import { PartitionRates } from '../src/partition-rates.ts'

const codecs = new CompressionCodecs()
const envelope = (producerName: string, messages: number) =>
  encodeBatch(Array.from({ length: messages }, (_, i) => ({ properties: {}, payload: new Uint8Array(100), eventTime: 0, sequenceId: i })), { producerName }, codecs)

t.test('rates in per producer, out and redelivered per consumer', async (t) => {
  const clock = new VirtualClock()
  clock.runUntilSync(120_000)
  const rates = new PartitionRates(clock)
  for (let second = 0; second < 60; second++) {
    clock.runUntilSync(120_000 + second * 1000 + 500)
    rates.published({ index: second + 1, publishTime: clock.now(), envelope: envelope('fast', 10) })
    if (second % 2 === 0) rates.published({ index: 100 + second, publishTime: clock.now(), envelope: envelope('slow', 2) })
    const entry: DeliveredEntry = { messageId: { partition: 0, index: second + 1, batchIndex: 0 }, redeliveryCount: second % 3 === 0 ? 1 : 0, publishTime: 0, batch: envelope('fast', 10) }
    rates.delivered(7, [entry])
  }
  const publishers = Object.fromEntries(rates.publishers().map((p) => [p.producerName, p.msgRateIn]))
  t.ok(Math.abs(publishers.fast - 10) < 0.5, `fast ${publishers.fast} msg/s`)
  t.ok(Math.abs(publishers.slow - 1) < 0.1, `slow ${publishers.slow} msg/s`)
  t.ok(Math.abs(rates.in.rates().msgRate - 11) < 0.5)
  const consumer = rates.consumer(7)
  t.ok(Math.abs(consumer.msgRateOut - 10) < 0.5, `out ${consumer.msgRateOut} msg/s`)
  t.ok(Math.abs(consumer.msgRateRedeliver - 10 / 3) < 0.5, `redeliver ${consumer.msgRateRedeliver} msg/s`)
  t.equal(rates.messagesOut, 600)
  t.same(rates.consumer(8), { msgRateOut: 0, msgThroughputOut: 0, msgRateRedeliver: 0 }, 'an unknown consumer has no rates')

  clock.runUntilSync(clock.now() + 61_000)
  t.same(rates.publishers(), [], 'producers idle for the whole window are no longer listed')
  t.equal(rates.in.rates().msgRate, 0)
  rates.forgetConsumer(7)
  t.equal(rates.consumer(7).msgRateOut, 0)
})
