// Renders the subscription lifecycle machine as a Mermaid state diagram from the machine
// itself (xstate/graph), so the statechart in the README cannot drift from the code
// (test/lifecycle-diagram.test.ts compares them); and, per subscription type, only the
// transitions that type can take, found by running the machine (xstate's pure `transition`)
// over two consumers coming and going and a close (docs/subscriptions.md).
import type { SubscriptionType } from '@blazar/protocol'
import { initialTransition, transition, type AnyStateMachine } from 'xstate'
import { toDirectedGraph } from 'xstate/graph'
import { subscriptionLifecycle, type LifecycleEvent } from './subscription-lifecycle.ts'

interface TransitionShape {
  eventType: string
  guard?: unknown
  actions: readonly unknown[]
}

function transitionLabel (transition: TransitionShape): string {
  const guard = transition.guard === undefined ? '' : ` [${typeof transition.guard === 'string' ? transition.guard : (transition.guard as { type?: string }).type ?? 'guard'}]`
  const actions = transition.actions
    .map((action) => (typeof action === 'string' ? action : (action as { type?: string }).type))
    .filter((name): name is string => typeof name === 'string')
  return `${transition.eventType}${guard}${actions.length > 0 ? ` / ${actions.join(', ')}` : ''}`
}

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
    for (const edge of child.edges) lines.push(`  ${id(edge.source.id)} --> ${id(edge.target.id)} : ${transitionLabel(edge.transition)}`)
  }
  return lines.join('\n')
}

/** The lifecycle as a subscription of `type` runs it: the transitions reachable with two consumers. */
export function lifecycleDiagramForType (type: SubscriptionType): string {
  const consumers = [{ consumerId: 1, consumerName: 'c1' }, { consumerId: 2, consumerName: 'c2' }]
  const events: LifecycleEvent[] = [
    ...consumers.map((consumer): LifecycleEvent => ({ type: 'ATTACH', consumer })),
    ...consumers.map(({ consumerId }): LifecycleEvent => ({ type: 'DETACH', consumerId })),
    { type: 'CLOSE', reason: 'closed' }
  ]
  const [initial] = initialTransition(subscriptionLifecycle, { subscriptionType: type })
  type Snapshot = typeof initial
  const key = (snapshot: Snapshot): string => `${String(snapshot.value)}:${snapshot.context.consumers.map((c) => c.consumerId).join(',')}`
  const lines = ['stateDiagram-v2', `  [*] --> ${String(initial.value)}`]
  const edges: string[] = []
  const seen = new Set([key(initial)])
  const queue = [initial]
  for (let snapshot = queue.shift(); snapshot !== undefined; snapshot = queue.shift()) {
    if (snapshot.status === 'done') {
      if (!lines.includes(`  ${String(snapshot.value)} --> [*]`)) lines.push(`  ${String(snapshot.value)} --> [*]`)
      continue
    }
    for (const event of events) {
      const taken = subscriptionLifecycle.getTransitionData(snapshot, event)
      if (taken.length === 0) continue
      const [next] = transition(subscriptionLifecycle, snapshot, event)
      for (const edge of taken.map((t) => `  ${String(snapshot.value)} --> ${String(next.value)} : ${transitionLabel(t)}`)) {
        if (!edges.includes(edge)) edges.push(edge)
      }
      if (!seen.has(key(next))) {
        seen.add(key(next))
        queue.push(next)
      }
    }
  }
  return [...lines, ...edges].join('\n')
}
