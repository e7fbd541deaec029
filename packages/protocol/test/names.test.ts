import t from 'tap'
import {
  InvalidNameError, InvalidTopicNameError, NON_PARTITIONED, parseNamespaceName, parseTopicName, partitionTopicName,
  validateEntityName, validateTenantName
} from '../src/index.ts'

t.test('short forms expand like Pulsar', async (t) => {
  t.equal(parseTopicName('orders').full, 'persistent://public/default/orders')
  t.equal(parseTopicName('acme/payments/orders').full, 'persistent://acme/payments/orders')
  const full = parseTopicName('persistent://acme/payments/orders')
  t.match(full, { tenant: 'acme', namespace: 'payments', localName: 'orders', partitionIndex: NON_PARTITIONED })
  t.equal(full.base, full.full)
})

t.test('partition names', async (t) => {
  const name = partitionTopicName('acme/payments/orders', 7)
  t.equal(name, 'persistent://acme/payments/orders-partition-7')
  const parsed = parseTopicName(name)
  t.equal(parsed.partitionIndex, 7)
  t.equal(parsed.base, 'persistent://acme/payments/orders')
  t.throws(() => partitionTopicName(name, 1), InvalidTopicNameError)
  t.throws(() => partitionTopicName('orders', -1), InvalidTopicNameError)
  t.throws(() => parseTopicName('orders-partition-007'), InvalidTopicNameError, 'leading zeros are not a partition index')
  t.throws(() => parseTopicName('-partition-1'), InvalidTopicNameError)
})

t.test('invalid topic names are typed errors', async (t) => {
  for (const bad of ['', 'a/b', 'a/b/c/d', 'persistent://orders', 'persistent://a/b/', 'kafka://a/b/c', 'a b', 'x'.repeat(2000), 'a/b/c?d']) {
    t.throws(() => parseTopicName(bad), { name: 'InvalidTopicNameError', code: 'INVALID_TOPIC_NAME' }, JSON.stringify(bad.slice(0, 20)))
  }
  t.throws(() => parseTopicName('non-persistent://a/b/c'), /non-persistent topics are not supported/)
})

t.test('tenant, namespace and entity names', async (t) => {
  t.equal(validateTenantName('acme-1.x:y=z_w'), 'acme-1.x:y=z_w')
  t.throws(() => validateTenantName('ac me'), InvalidNameError)
  t.throws(() => validateTenantName(''), InvalidNameError)
  t.same(parseNamespaceName('acme/payments'), { tenant: 'acme', namespace: 'payments', full: 'acme/payments' })
  t.throws(() => parseNamespaceName('acme'), InvalidNameError)
  t.throws(() => parseNamespaceName('acme/pay/ments'), InvalidNameError)
  t.throws(() => parseNamespaceName('acme/pay ments'), InvalidNameError)
  t.equal(validateEntityName('subscription', 'my sub'), 'my sub')
  t.throws(() => validateEntityName('subscription', 'a\nb'), InvalidNameError)
  t.throws(() => validateEntityName('subscription', ''), InvalidNameError)
})
