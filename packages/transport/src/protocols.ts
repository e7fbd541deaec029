// Protocol ids. The trailing number is the wire version: an incompatible change gets a new id
// and both versions are served side by side while a cluster upgrades.
export const RAFT_PROTOCOL = '/blazar/raft/1'
export const CLIENT_PROTOCOL = '/blazar/client/1'
export const JOIN_PROTOCOL = '/blazar/join/1'
