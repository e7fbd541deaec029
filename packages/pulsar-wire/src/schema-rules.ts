// The rules this layer adds to the schema, shared by the run-time codec (src/proto.ts) and the
// type generator (scripts/generate-types.ts), which parses PulsarApi.proto itself.
import protobuf from 'protobufjs'

/** Fields reported only when present on the wire (no default filled in). */
export const PRESENCE_FIELDS: ReadonlySet<string> = new Set([
  // present = the payload is a batch of SingleMessageMetadata entries, even for one message
  'pulsar.proto.MessageMetadata.num_messages_in_batch'
])

/** Parses the text of PulsarApi.proto, keeping field names as written. */
export function parseProtoFile (text: string): protobuf.Root {
  const root = protobuf.parse(text, { keepCase: true }).root
  root.resolveAll()
  return root
}
