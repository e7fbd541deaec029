"""Pulsar client scenarios run by test/pulsar-python.test.ts against a Blazar cluster.

Usage: python scenarios.py <scenario> '<json arguments>'. Each scenario uses the official
client (pulsar-client) exactly as an application would, checks what it received with
asserts, and prints one JSON line of facts on success. A failed assert exits non-zero with
the traceback. Receive timeouts are deadlines (a message that never comes fails the
scenario); nothing waits a fixed time for luck.
"""
import json
import os
import sys
import time

import pulsar

RECEIVE_MS = 10_000


def client_for(args):
    return pulsar.Client(args['url'], operation_timeout_seconds=30, logger=quiet_logger())


def quiet_logger():
    import logging
    logger = logging.getLogger('pulsar')
    logger.setLevel(logging.WARNING)
    return logger


def receive_all(consumer, count, timeout_ms=RECEIVE_MS, ack=True):
    messages = []
    for _ in range(count):
        msg = consumer.receive(timeout_millis=timeout_ms)
        messages.append(msg)
        if ack:
            consumer.acknowledge(msg)
    return messages


def expect_nothing(receiver, timeout_ms=500):
    """Asserts that nothing more arrives within timeout_ms (a bound, not a wait for luck: a message that is there arrives at once)."""
    try:
        msg = receiver.receive(timeout_millis=timeout_ms)
    except pulsar.Timeout:
        return
    raise AssertionError(f'unexpected message {msg.data()!r}')


def texts(messages):
    return [m.data().decode() for m in messages]


def seeds_example(args):
    """The seeds' example: a consumer and a producer on persistent://public/default/my-topic."""
    client = client_for(args)
    consumer = client.subscribe(args['topic'], args.get('subscription', 'my-subscription'))
    producer = client.create_producer(args['topic'])
    sent = []
    for i in range(10):
        sent.append(producer.send(('Hello-%d' % i).encode('utf-8')))
    received = receive_all(consumer, 10)
    assert texts(received) == ['Hello-%d' % i for i in range(10)], texts(received)
    assert [str(m.message_id()) for m in received] == [str(i) for i in sent]
    client.close()
    return {'received': len(received), 'first_id': str(sent[0])}


def batching(args):
    client = client_for(args)
    consumer = client.subscribe(args['topic'], 'batching', initial_position=pulsar.InitialPosition.Earliest)
    results = {}
    for enabled in (False, True):
        producer = client.create_producer(args['topic'], batching_enabled=enabled, batching_max_publish_delay_ms=20,
                                          compression_type=compression_of(args.get('compression')))
        callbacks = []
        count = 50
        for i in range(count):
            producer.send_async(f'{enabled}-{i}'.encode(), lambda res, msg_id: callbacks.append((res, msg_id)),
                                properties={'i': str(i), 'batched': str(enabled)}, partition_key=f'k{i % 3}',
                                event_timestamp=1_700_000_000_000 + i)
        producer.flush()
        assert len(callbacks) == count and all(res == pulsar.Result.Ok for res, _ in callbacks), callbacks[:3]
        received = receive_all(consumer, count)
        assert texts(received) == [f'{enabled}-{i}' for i in range(count)], texts(received)[:5]
        for i, msg in enumerate(received):
            assert msg.properties() == {'i': str(i), 'batched': str(enabled)}, msg.properties()
            assert msg.partition_key() == f'k{i % 3}'
            assert msg.event_timestamp() == 1_700_000_000_000 + i
            assert msg.publish_timestamp() > 0
        ids = [m.message_id() for m in received]
        assert all(a < b for a, b in zip(ids, ids[1:])), 'message ids increase'
        entries = len({(i.ledger_id(), i.entry_id()) for i in ids})
        results['batched' if enabled else 'unbatched'] = {'messages': count, 'entries': entries}
        if not enabled:
            assert entries == count, 'without batching every message is its own entry'
        else:
            assert entries < count, 'with batching messages share entries'
        producer.close()
    client.close()
    return results


def compression_of(name):
    if name is None:
        return pulsar.CompressionType.NONE
    return {'LZ4': pulsar.CompressionType.LZ4, 'ZLIB': pulsar.CompressionType.ZLib,
            'ZSTD': pulsar.CompressionType.ZSTD, 'SNAPPY': pulsar.CompressionType.SNAPPY}[name]


def partitioned_keys(args):
    client = client_for(args)
    consumer = client.subscribe(args['topic'], 'keys', consumer_type=pulsar.ConsumerType.Shared,
                                initial_position=pulsar.InitialPosition.Earliest)
    producer = client.create_producer(args['topic'], batching_enabled=False)
    keys = [f'key-{k}' for k in range(8)]
    for i in range(40):
        producer.send(f'm{i}'.encode(), partition_key=keys[i % len(keys)])
    received = receive_all(consumer, 40)
    partitions_of_key = {}
    for msg in received:
        partitions_of_key.setdefault(msg.partition_key(), set()).add(msg.topic_name())
    assert all(len(p) == 1 for p in partitions_of_key.values()), partitions_of_key
    used = {next(iter(p)) for p in partitions_of_key.values()}
    assert all('-partition-' in name for name in used), used
    by_key = {}
    for msg in received:
        by_key.setdefault(msg.partition_key(), []).append(int(msg.data().decode()[1:]))
    assert all(v == sorted(v) for v in by_key.values()), 'per key, in send order'
    client.close()
    return {'keys': len(partitions_of_key), 'partitions_used': len(used)}


def exclusive(args):
    client = client_for(args)
    first = client.subscribe(args['topic'], 'exclusive', consumer_type=pulsar.ConsumerType.Exclusive)
    try:
        client.subscribe(args['topic'], 'exclusive', consumer_type=pulsar.ConsumerType.Exclusive)
        raise AssertionError('a second Exclusive consumer was admitted')
    except pulsar.ConsumerBusy:
        pass
    producer = client.create_producer(args['topic'])
    for i in range(5):
        producer.send(f'x{i}'.encode())
    assert texts(receive_all(first, 5)) == [f'x{i}' for i in range(5)]
    client.close()
    return {'second_consumer': 'ConsumerBusy'}


def shared(args):
    client = client_for(args)
    a = client.subscribe(args['topic'], 'shared', consumer_type=pulsar.ConsumerType.Shared, receiver_queue_size=5)
    b = client.subscribe(args['topic'], 'shared', consumer_type=pulsar.ConsumerType.Shared, receiver_queue_size=5)
    producer = client.create_producer(args['topic'], batching_enabled=False)
    count = 40
    for i in range(count):
        producer.send(f's{i}'.encode())
    got = {'a': [], 'b': []}
    deadline = time.time() + RECEIVE_MS / 1000
    while len(got['a']) + len(got['b']) < count and time.time() < deadline:
        for name, consumer in (('a', a), ('b', b)):
            try:
                msg = consumer.receive(timeout_millis=50)
            except pulsar.Timeout:
                continue
            got[name].append(msg.data().decode())
            consumer.acknowledge(msg)
    assert sorted(got['a'] + got['b']) == sorted(f's{i}' for i in range(count)), got
    assert got['a'] and got['b'], f'both consumers receive: {len(got["a"])} / {len(got["b"])}'
    client.close()
    return {'a': len(got['a']), 'b': len(got['b'])}


def failover(args):
    client = client_for(args)
    a = client.subscribe(args['topic'], 'failover', consumer_type=pulsar.ConsumerType.Failover, consumer_name='a')
    b = client.subscribe(args['topic'], 'failover', consumer_type=pulsar.ConsumerType.Failover, consumer_name='b')
    producer = client.create_producer(args['topic'], batching_enabled=False)
    for i in range(5):
        producer.send(f'f{i}'.encode())
    # The first consumer of a Failover subscription is the active one (for a non-partitioned topic).
    first = receive_all(a, 5)
    assert texts(first) == [f'f{i}' for i in range(5)]
    expect_nothing(b)
    a.close()
    for i in range(5, 10):
        producer.send(f'f{i}'.encode())
    second = receive_all(b, 5)
    assert texts(second) == [f'f{i}' for i in range(5, 10)], texts(second)
    client.close()
    return {'active_then_standby': [len(first), len(second)]}


def key_shared(args):
    client = client_for(args)
    consumers = [client.subscribe(args['topic'], 'key-shared', consumer_type=pulsar.ConsumerType.KeyShared,
                                  consumer_name=f'c{i}') for i in range(2)]
    producer = client.create_producer(args['topic'], batching_enabled=False)
    count = 60
    for i in range(count):
        producer.send(f'{i}'.encode(), partition_key=f'key-{i % 6}')
    owner = {}
    total = 0
    deadline = time.time() + RECEIVE_MS / 1000
    while total < count and time.time() < deadline:
        for n, consumer in enumerate(consumers):
            try:
                msg = consumer.receive(timeout_millis=50)
            except pulsar.Timeout:
                continue
            total += 1
            owner.setdefault(msg.partition_key(), set()).add(n)
            consumer.acknowledge(msg)
    assert total == count, total
    assert all(len(o) == 1 for o in owner.values()), owner
    client.close()
    return {'keys': len(owner), 'consumers_used': len({next(iter(o)) for o in owner.values()})}


def negative_ack(args):
    client = client_for(args)
    consumer = client.subscribe(args['topic'], 'nack', consumer_type=pulsar.ConsumerType.Shared,
                                negative_ack_redelivery_delay_ms=100)
    producer = client.create_producer(args['topic'])
    producer.send(b'retry-me')
    first = consumer.receive(timeout_millis=RECEIVE_MS)
    assert first.redelivery_count() == 0
    consumer.negative_acknowledge(first)
    again = consumer.receive(timeout_millis=RECEIVE_MS)
    assert again.data() == b'retry-me' and again.redelivery_count() == 1, (again.data(), again.redelivery_count())
    consumer.acknowledge(again)
    expect_nothing(consumer, 1000)
    client.close()
    return {'redelivery_count': again.redelivery_count()}


def ack_timeout(args):
    client = client_for(args)
    # The C++ client's smallest ack timeout is 10 s.
    consumer = client.subscribe(args['topic'], 'ack-timeout', consumer_type=pulsar.ConsumerType.Shared,
                                unacked_messages_timeout_ms=10_000)
    producer = client.create_producer(args['topic'])
    producer.send(b'unacked')
    first = consumer.receive(timeout_millis=RECEIVE_MS)
    started = time.time()
    again = consumer.receive(timeout_millis=30_000)
    waited = time.time() - started
    assert again.data() == b'unacked' and again.redelivery_count() == 1, (again.data(), again.redelivery_count())
    consumer.acknowledge(again)
    client.close()
    return {'redelivered_after_s': round(waited, 1), 'first_count': first.redelivery_count()}


def dead_letter(args):
    client = client_for(args)
    policy = pulsar.ConsumerDeadLetterPolicy(max_redeliver_count=2, dead_letter_topic=args['dlq'])
    dlq = client.subscribe(args['dlq'], 'dlq-reader', initial_position=pulsar.InitialPosition.Earliest)
    consumer = client.subscribe(args['topic'], 'dlq', consumer_type=pulsar.ConsumerType.Shared,
                                negative_ack_redelivery_delay_ms=100, dead_letter_policy=policy)
    producer = client.create_producer(args['topic'])
    producer.send(b'poison', properties={'p': '1'})
    counts = []
    for _ in range(3):
        msg = consumer.receive(timeout_millis=RECEIVE_MS)
        counts.append(msg.redelivery_count())
        consumer.negative_acknowledge(msg)
    dead = dlq.receive(timeout_millis=RECEIVE_MS)
    assert dead.data() == b'poison', dead.data()
    assert dead.properties().get('p') == '1', dead.properties()
    dlq.acknowledge(dead)
    expect_nothing(consumer, 1000)
    client.close()
    return {'redelivery_counts': counts, 'dead_letter_properties': sorted(dead.properties().keys())}


def readers(args):
    client = client_for(args)
    producer = client.create_producer(args['topic'], batching_enabled=False)
    ids = [producer.send(f'r{i}'.encode()) for i in range(10)]
    earliest = client.create_reader(args['topic'], pulsar.MessageId.earliest)
    got = [earliest.read_next(RECEIVE_MS).data().decode() for _ in range(10)]
    assert got == [f'r{i}' for i in range(10)], got
    assert not earliest.has_message_available()
    latest = client.create_reader(args['topic'], pulsar.MessageId.latest)
    assert not latest.has_message_available()
    producer.send(b'after-latest')
    assert latest.read_next(RECEIVE_MS).data() == b'after-latest'
    from_id = client.create_reader(args['topic'], ids[4])
    first = from_id.read_next(RECEIVE_MS).data().decode()
    assert first == 'r5', f'a reader from a message id starts after it (exclusive): {first}'
    inclusive = client.create_reader(args['topic'], ids[4], start_message_id_inclusive=True)
    assert inclusive.read_next(RECEIVE_MS).data() == b'r4'
    serialized = pulsar.MessageId.deserialize(ids[7].serialize())
    again = client.create_reader(args['topic'], serialized)
    assert again.read_next(RECEIVE_MS).data() == b'r8'
    client.close()
    return {'earliest': len(got), 'from_id_first': first}


def seek(args):
    client = client_for(args)
    producer = client.create_producer(args['topic'], batching_enabled=False)
    consumer = client.subscribe(args['topic'], 'seek', initial_position=pulsar.InitialPosition.Earliest)
    ids = []
    times = []
    for i in range(10):
        ids.append(producer.send(f'k{i}'.encode()))
    received = receive_all(consumer, 10)
    times = [m.publish_timestamp() for m in received]
    consumer.seek(ids[3])
    after_id = consumer.receive(timeout_millis=RECEIVE_MS).data().decode()
    assert after_id in ('k3', 'k4'), after_id
    consumer.seek(times[6])
    after_time = consumer.receive(timeout_millis=RECEIVE_MS).data().decode()
    assert after_time == 'k6' or (times[5] == times[6] and after_time == 'k5'), after_time
    consumer.seek(pulsar.MessageId.earliest)
    assert consumer.receive(timeout_millis=RECEIVE_MS).data() == b'k0'
    client.close()
    return {'after_id': after_id, 'after_time': after_time}


def string_schema(args):
    from pulsar.schema import StringSchema
    client = client_for(args)
    consumer = client.subscribe(args['topic'], 'schema', schema=StringSchema())
    producer = client.create_producer(args['topic'], schema=StringSchema())
    producer.send('héllo')
    msg = consumer.receive(timeout_millis=RECEIVE_MS)
    assert msg.value() == 'héllo', msg.value()
    consumer.acknowledge(msg)
    client.close()
    return {'value': msg.value()}


def pattern_subscription(args):
    """A regex subscription (GET_TOPICS_OF_NAMESPACE) over the topics args['topics']."""
    import re
    client = client_for(args)
    consumer = client.subscribe(re.compile(args['pattern']), 'pattern', consumer_type=pulsar.ConsumerType.Shared,
                                initial_position=pulsar.InitialPosition.Earliest)
    for topic in args['topics']:
        producer = client.create_producer(topic)
        producer.send(topic.encode())
        producer.close()
    received = sorted(texts(receive_all(consumer, len(args['topics']))))
    assert received == sorted(args['topics']), received
    client.close()
    return {'topics': len(received)}


def produce(args):
    """Sends args['count'] messages; prints their entry ids (for the cross-client test)."""
    client = client_for(args)
    producer = client.create_producer(args['topic'], batching_enabled=False)
    ids = [producer.send(f'py-{i}'.encode(), properties={'from': 'python'}, partition_key='py-key',
                         event_timestamp=1_700_000_000_000 + i) for i in range(args['count'])]
    client.close()
    return {'entries': [i.entry_id() for i in ids]}


def consume(args):
    """Consumes args['count'] messages from the earliest; prints what they carried."""
    client = client_for(args)
    consumer = client.subscribe(args['topic'], args['subscription'], initial_position=pulsar.InitialPosition.Earliest)
    out = []
    for msg in receive_all(consumer, args['count']):
        out.append({'data': msg.data().decode(), 'key': msg.partition_key(), 'properties': msg.properties(),
                    'event_time': msg.event_timestamp(), 'publish_time': msg.publish_timestamp(),
                    'entry': msg.message_id().entry_id()})
    client.close()
    return {'messages': out}


def produce_many(args):
    """Sends args['count'] messages asynchronously; prints the sequence numbers whose callback reported success."""
    client = pulsar.Client(args['url'], operation_timeout_seconds=60, logger=quiet_logger())
    producer = client.create_producer(args['topic'], batching_enabled=True, batching_max_publish_delay_ms=5,
                                      send_timeout_millis=60_000, block_if_queue_full=True, max_pending_messages=500)
    acknowledged = []
    failed = []

    def done(i):
        def callback(res, _msg_id):
            (acknowledged if res == pulsar.Result.Ok else failed).append(i)
        return callback

    started = time.time()
    acknowledged_at_signal = None
    for i in range(args['count']):
        producer.send_async(str(i).encode(), done(i))
        if i == args.get('signal_at', -1):
            acknowledged_at_signal = len(acknowledged)
            print('SIGNAL', flush=True)
    producer.flush()
    client.close()
    return {'acknowledged': sorted(acknowledged), 'failed': len(failed), 'seconds': round(time.time() - started, 1),
            'acknowledged_at_signal': acknowledged_at_signal}


def consume_all(args):
    """Reads the topic from the earliest until every payload in args['expect'] was seen (a read
    waiting longer than RECEIVE_MS fails); prints the payloads in the order read."""
    client = client_for(args)
    reader = client.create_reader(args['topic'], pulsar.MessageId.earliest, receiver_queue_size=1000)
    missing = set(args['expect'])
    out = []
    while missing:
        payload = int(reader.read_next(RECEIVE_MS).data().decode())
        out.append(payload)
        missing.discard(payload)
    client.close()
    return {'payloads': out}


def backlog_quota_exception(args):
    """Sends 1 KiB messages (a namespace with a small producer_exception backlog quota) until a
    send fails; prints how many were stored and the exception's class name."""
    client = client_for(args)
    producer = client.create_producer(args['topic'], batching_enabled=False, send_timeout_millis=10_000)
    sent = 0
    error = None
    for _ in range(args['max']):
        try:
            producer.send(b'x' * 1024)
            sent += 1
        except Exception as e:  # the class name is what the test checks
            error = type(e).__name__
            break
    client.close()
    return {'sent': sent, 'error': error}


def produce_keyed(args):
    """Sends args['records'] ([key or null, value]; an empty value is a tombstone) in batches, compressed as args['compression'] says."""
    client = client_for(args)
    producer = client.create_producer(args['topic'], batching_enabled=True, batching_max_publish_delay_ms=20,
                                      compression_type=compression_of(args.get('compression')))
    results = []
    for key, value in args['records']:
        options = {} if key is None else {'partition_key': key}
        producer.send_async(value.encode(), lambda res, _msg_id: results.append(res), **options)
    producer.flush()
    assert len(results) == len(args['records']) and all(res == pulsar.Result.Ok for res in results), results[:3]
    client.close()
    return {'sent': len(results)}


def read_compacted(args):
    """A reader with is_read_compacted reads the whole topic ('key=value' each); a Shared
    subscription with is_read_compacted must be refused (the exception's class name is reported)."""
    client = client_for(args)
    reader = client.create_reader(args['topic'], pulsar.MessageId.earliest, is_read_compacted=True)
    read = []
    while reader.has_message_available():
        msg = reader.read_next(RECEIVE_MS)
        read.append(f'{msg.partition_key()}={msg.data().decode()}')
    refused = None
    try:
        client.subscribe(args['topic'], 'shared-compacted', consumer_type=pulsar.ConsumerType.Shared, is_read_compacted=True)
    except Exception as e:  # the class name is what the test checks
        refused = type(e).__name__
    client.close()
    return {'read': read, 'shared_refused': refused}


SCENARIOS = {f.__name__: f for f in (seeds_example, batching, partitioned_keys, exclusive, shared, failover, key_shared,
                                       negative_ack, ack_timeout, dead_letter, readers, seek, string_schema, pattern_subscription, produce,
                                       consume, produce_many, consume_all, backlog_quota_exception, produce_keyed, read_compacted)}

if __name__ == '__main__':
    result = SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
    print('RESULT ' + json.dumps(result), flush=True)
    # Every client is closed by now. Skip the interpreter's teardown: the C++ client's threads
    # sometimes abort there ("terminate called without an active exception") after a clean run.
    os._exit(0)
