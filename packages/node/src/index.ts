// @blazar/node: one Blazar node process (transport, storage, metadata, partitions, gateway,
// HTTP) and its configuration. See README.md.
export { ADDRESSES_FILE, BlazarNode, NodeStartError } from './blazar-node.ts'
export { CLUSTER_FILE, readClusterFile, type ClusterFile } from './cluster-file.ts'
export { ConfigError, DEFAULT_NODE_CONFIG, configFromEnvironment, resolveNodeConfig, type NodeConfig } from './config.ts'
export { PinoLogger } from './pino-logger.ts'
export { METADATA_GROUP, nextMembershipStep } from './metadata-service.ts'
export { LEARNER_CATCH_UP_ENTRIES, nextReplicaStep, type MembershipStep, type ReplicaStep } from './membership-steps.ts'
