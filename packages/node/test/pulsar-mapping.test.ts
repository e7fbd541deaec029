// What GET_LAST_MESSAGE_ID tells Pulsar clients: (-1, -1) for an empty partition, the entry for
// a message that is the first (or only) one of its entry, and the batch index past that, as
// Pulsar's broker does, so a C++ client's has_message_available keeps reading a batch.
import t from 'tap'
import { PULSAR_EARLIEST_ENTRY } from '@blazar/protocol'
import { lastEntryIdOf } from '../src/pulsar/pulsar-mapping.ts'

t.test('lastEntryIdOf', async (t) => {
  t.match(lastEntryIdOf({ partition: 2, index: 0, batchIndex: -1 }), { ledgerId: PULSAR_EARLIEST_ENTRY, entryId: PULSAR_EARLIEST_ENTRY, partition: 2 })
  t.match(lastEntryIdOf({ partition: -1, index: 9, batchIndex: 0 }), { entryId: 9n, batch_index: -1 }, 'a single message: the entry')
  t.match(lastEntryIdOf({ partition: -1, index: 9, batchIndex: -1 }), { entryId: 9n, batch_index: -1 }, 'a mark-delete position: the entry')
  t.match(lastEntryIdOf({ partition: -1, index: 9, batchIndex: 21 }), { entryId: 9n, batch_index: 21 }, 'the last of a batch of 22: its batch index')
})
