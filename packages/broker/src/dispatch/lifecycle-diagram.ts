// Renders the subscription lifecycle machine as a Mermaid state diagram from the machine
// itself (xstate/graph), so the statechart in the README cannot drift from the code
// (test/lifecycle-diagram.test.ts compares them).
import type { AnyStateMachine } from 'xstate'
import { toDirectedGraph } from 'xstate/graph'
import { subscriptionLifecycle } from './subscription-lifecycle.ts'

export function lifecycleDiagramMermaid (machine: AnyStateMachine = subscriptionLifecycle): string {
  const root = toDirectedGraph(machine)
  const id = (stateId: string): string => stateId.split('.').slice(1).join('_')
  const lines = ['stateDiagram-v2']
  const initial = root.stateNode.initial?.target?.[0]
  if (initial !== undefined) lines.push(`  [*] --> ${id(initial.id)}`)
  for (const child of root.children) {
    if (child.stateNode.type === 'final') lines.push(`  ${id(child.id)} --> [*]`)
  }
  for (const child of root.children) {
    for (const edge of child.edges) {
      const transition = edge.transition
      const guard = transition.guard === undefined ? '' : ` [${typeof transition.guard === 'string' ? transition.guard : (transition.guard as { type?: string }).type ?? 'guard'}]`
      const actions = transition.actions
        .map((action) => (typeof action === 'string' ? action : (action as { type?: string }).type))
        .filter((name): name is string => typeof name === 'string')
      lines.push(`  ${id(edge.source.id)} --> ${id(edge.target.id)} : ${transition.eventType}${guard}${actions.length > 0 ? ` / ${actions.join(', ')}` : ''}`)
    }
  }
  return lines.join('\n')
}
