// The entries of the metadata group's Raft log: one command per entry (kind 1), msgpack body
// validated on decode like everything else that crosses a boundary.
import {
  MAX_NAME_LENGTH, MAX_NODE_ADDRESSES, MAX_PARTITIONS, MAX_TOPIC_NAME_LENGTH, MalformedMessageError, namespacePoliciesSchema,
  pack, schema, unpack, type Infer
} from '@blazar/protocol'

const { array, int, literal, nullable, object, optional, string, union } = schema

export const METADATA_COMMAND_KIND = 1
/** Largest encoded metadata command. */
export const MAX_METADATA_COMMAND_BYTES = 1024 * 1024

const nodeId = string({ min: 1, max: MAX_NAME_LENGTH })
const name = string({ min: 1, max: MAX_NAME_LENGTH })
const topic = string({ min: 1, max: MAX_TOPIC_NAME_LENGTH })
const namespace = string({ min: 3, max: 2 * MAX_NAME_LENGTH + 1 })
export const NODE_STATES = ['active', 'draining', 'down'] as const

export const metadataCommandSchema = union('type', {
  'register-node': object({ id: nodeId, addresses: array(string({ max: 1024 }), { max: MAX_NODE_ADDRESSES }), zone: nullable(name) }),
  'set-node-state': object({ id: nodeId, state: literal(...NODE_STATES) }),
  /** `force`: also while it hosts replicas (they are then re-replicated like a dead node's). */
  'remove-node': object({ id: nodeId, force: optional(literal(true)) }),
  'create-tenant': object({ tenant: name, adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }),
  'update-tenant': object({ tenant: name, adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }),
  'delete-tenant': object({ tenant: name }),
  'create-namespace': object({ namespace, policies: optional(namespacePoliciesSchema) }),
  'delete-namespace': object({ namespace }),
  'set-namespace-policies': object({ namespace, policies: namespacePoliciesSchema }),
  'create-topic': object({ topic, partitions: int({ min: 0, max: MAX_PARTITIONS }) }),
  'update-partitions': object({ topic, partitions: int({ min: 1, max: MAX_PARTITIONS }) }),
  'delete-topic': object({ topic }),
  'set-placement': object({ group: topic, replicas: array(nodeId, { max: 7 }), preferredLeader: nodeId }),
  /** Moves one replica of `group` from node `from` to node `to` (see MetadataStateMachine.move). */
  'move-replica': object({ group: topic, from: nodeId, to: nodeId, preferredLeader: optional(nodeId) }),
  /** The partition's leader reports the move's Raft membership change done. */
  'complete-move': object({ group: topic, to: nodeId })
})
export type MetadataCommand = Infer<typeof metadataCommandSchema>

export function encodeMetadataCommand (command: MetadataCommand): { kind: number, data: Uint8Array } {
  return { kind: METADATA_COMMAND_KIND, data: pack(metadataCommandSchema.parse(command)) }
}

export function decodeMetadataCommand (kind: number, data: Uint8Array): MetadataCommand {
  if (kind !== METADATA_COMMAND_KIND) throw new MalformedMessageError({ path: 'kind', reason: `unknown metadata entry kind ${kind}` })
  return unpack(data, metadataCommandSchema, MAX_METADATA_COMMAND_BYTES)
}
