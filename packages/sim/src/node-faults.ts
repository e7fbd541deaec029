// The deliberate bugs a node run can switch on: the gateway's (NodeFaults, in the production
// node) and the production client's (ClientFaults). Each must be caught by the node workload.
import type { ClientFaults } from '@blazar/client'
import type { NodeFaults } from '@blazar/node/core'

export type SimNodeFaults = NodeFaults & ClientFaults

/** The switches of `faults` that belong to the client, and those that belong to the nodes. */
export function splitNodeFaults (faults: SimNodeFaults | undefined): { node: NodeFaults | undefined, client: ClientFaults | undefined } {
  if (faults === undefined) return { node: undefined, client: undefined }
  const { releaseAcksOnArrival, ...node } = faults
  return { node, client: releaseAcksOnArrival === undefined ? undefined : { releaseAcksOnArrival } }
}
