// @blazar/node/core: the node without its process edges (no libp2p, HTTP, Pulsar listener or
// real disk), for hosts that bring their own: the simulator. See README.md.
export { NodeCore, REGISTRATION_CHECK_MS, SHUTDOWN_TRANSFER_TIMEOUT_MS, type NodeCoreOptions } from './node-core.ts'
export type { ClientDialer, PeerNetwork, UpstreamConnection } from './node-edges.ts'
export type { NodeFaults } from './gateway-context.ts'
export type { GroupEvents } from './group-host.ts'
export type { GatewaySession } from './session-state.ts'
export type { HostedPartition } from './partition-service.ts'
export { METADATA_GROUP } from './metadata-service.ts'
export { DEFAULT_NODE_CONFIG } from './config.ts'
