// The validating schema of a metadata snapshot (what MetadataStateMachine.snapshot packs).
import { MAX_LIST_ITEMS, MAX_NAME_LENGTH, MAX_NODE_ADDRESSES, MAX_PARTITIONS, MAX_TOPIC_NAME_LENGTH, namespacePoliciesSchema, schema } from '@blazar/protocol'
import { NODE_STATES } from './metadata-commands.ts'

const { array, int, literal, nullable, object, optional, string } = schema

const name = string({ min: 1, max: MAX_NAME_LENGTH })
const list = { max: 10 * MAX_LIST_ITEMS }

export const metadataSnapshotSchema = object({
  version: literal(1),
  lastApplied: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nodes: array(object({ id: name, addresses: array(string({ max: 1024 }), { max: MAX_NODE_ADDRESSES }), zone: nullable(name), state: literal(...NODE_STATES) }), list),
  tenants: array(object({ name, adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }), list),
  namespaces: array(object({ name: string({ min: 3, max: 2 * MAX_NAME_LENGTH + 1 }), policies: namespacePoliciesSchema }), list),
  topics: array(object({ name: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }), partitions: int({ min: 0, max: MAX_PARTITIONS }) }), list),
  placements: array(object({ group: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }), replicas: array(name, { max: 7 }), preferredLeader: name }), list),
  /** Replica moves in flight (absent in snapshots written before moves existed). */
  moves: optional(array(object({ group: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }), from: name, to: name }), list))
})
