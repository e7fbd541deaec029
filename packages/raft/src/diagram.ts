// Renders the role machine (roles.ts) as a Mermaid state diagram, generated from the machine
// itself with xstate/graph's toDirectedGraph, so the picture in docs/raft.md cannot drift from
// the code (test/diagram.test.ts checks it; `node packages/raft/scripts/diagram.ts` rewrites it).
import type { AnyStateMachine } from 'xstate'
import { type DirectedGraphEdge, type DirectedGraphNode, toDirectedGraph } from 'xstate/graph'
import { roleMachine } from './roles.ts'

export function roleDiagramMermaid (machine: AnyStateMachine = roleMachine): string {
  const root = toDirectedGraph(machine)
  const lines = ['stateDiagram-v2']
  const visit = (node: DirectedGraphNode, indent: string): void => {
    const initial = node.stateNode.initial?.target?.[0]
    if (initial !== undefined && node.stateNode.type !== 'parallel') lines.push(`${indent}[*] --> ${mermaidId(initial.id)}`)
    node.children.forEach((child, i) => {
      if (node.stateNode.type === 'parallel' && i > 0) lines.push(`${indent}--`)
      const id = mermaidId(child.id)
      if (child.children.length > 0) {
        lines.push(`${indent}state "${child.stateNode.key}" as ${id} {`)
        visit(child, `${indent}  `)
        lines.push(`${indent}}`)
      } else {
        lines.push(`${indent}state "${child.stateNode.key}" as ${id}`)
      }
      if (child.stateNode.type === 'final') lines.push(`${indent}${id} --> [*]`)
    })
  }
  visit(root, '  ')
  // Transitions declared on the machine root apply from every state.
  if (root.edges.length > 0) lines.push(`  state "(any state)" as ${ANY_STATE}`)
  const edges: string[] = []
  const collect = (node: DirectedGraphNode): void => {
    for (const edge of node.edges) edges.push(`  ${mermaidId(edge.source.id)} --> ${mermaidId(edge.target.id)} : ${edgeLabel(edge)}`)
    for (const child of node.children) collect(child)
  }
  collect(root)
  return [...lines, ...edges].join('\n')
}

const ANY_STATE = 'any_state'

function mermaidId (stateId: string): string {
  return stateId.replace(/^raft\.?/, '').replace(/\./g, '_') || ANY_STATE
}

function edgeLabel (edge: DirectedGraphEdge): string {
  const transition = edge.transition
  const event = transition.eventType.startsWith('xstate.after.')
    ? `after ${transition.eventType.split('.')[2]}`
    : transition.eventType
  const guard = transition.guard === undefined ? '' : ` [${typeof transition.guard === 'string' ? transition.guard : (transition.guard as { type?: string }).type ?? 'guard'}]`
  const actions = transition.actions
    .map((action) => typeof action === 'string' ? action : (action as { type?: string }).type)
    .filter((name): name is string => typeof name === 'string')
  return `${event}${guard}${actions.length > 0 ? ` / ${actions.join(', ')}` : ''}`
}
