// Regex subscriptions (Pulsar's topicsPattern): the pattern names one namespace; every
// `patternAutoDiscoveryPeriodMs` the namespace's topics are listed (`topics-list`) and the
// consumer subscribes to those that started matching and drops those that are gone. Owns the
// discovery timer; a failed listing is retried at the next period.
import { InvalidArgumentError, parseNamespaceName } from '@blazar/protocol'
import type { TimerHandle, Timers } from './timers.ts'

export interface TopicsPattern {
  /** The namespace whose topics are matched (`tenant/namespace`). */
  namespace: string
  /** Matches a full topic name (`persistent://tenant/namespace/topic`) as a whole. */
  regex: RegExp
}

/**
 * A pattern as Pulsar reads it: `persistent://tenant/ns/<regex>`, `tenant/ns/<regex>`, or a
 * bare `<regex>` in public/default.
 */
export function parseTopicsPattern (pattern: string | RegExp): TopicsPattern {
  // A RegExp literal's source escapes its slashes.
  const source = typeof pattern === 'string' ? pattern : pattern.source.replaceAll('\\/', '/')
  const withoutDomain = source.startsWith('persistent://') ? source.slice('persistent://'.length) : source
  const parts = withoutDomain.split('/')
  const [tenant, namespace] = parts.length >= 3 ? [parts[0], parts[1]] : ['public', 'default']
  const local = parts.length >= 3 ? parts.slice(2).join('/') : withoutDomain
  if (local.length === 0) throw new InvalidArgumentError({ argument: 'topicsPattern', reason: 'no topic pattern after the namespace' })
  const full = parseNamespaceName(`${tenant}/${namespace}`).full
  let regex: RegExp
  try {
    regex = new RegExp(`^persistent://${escapeRegex(full)}/(?:${local})$`)
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'topicsPattern', reason: (error as Error).message })
  }
  return { namespace: full, regex }
}

function escapeRegex (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export interface TopicDiscoveryOptions {
  pattern: TopicsPattern
  intervalMs: number
  timers: Timers
  /** The namespace's topics (full names). */
  list: (namespace: string) => Promise<string[]>
  subscribed: () => string[]
  add: (topic: string) => Promise<void>
  remove: (topic: string) => Promise<void>
}

export class TopicDiscovery {
  private readonly options: TopicDiscoveryOptions
  private timer: TimerHandle | undefined
  private stopped = false
  private polling: Promise<void> | undefined

  constructor (options: TopicDiscoveryOptions) {
    this.options = options
  }

  /** The topics that match now (the initial subscription). */
  async matching (): Promise<string[]> {
    const topics = await this.options.list(this.options.pattern.namespace)
    return topics.filter((topic) => this.options.pattern.regex.test(topic))
  }

  start (): void {
    this.schedule()
  }

  stop (): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = undefined
  }

  /** One discovery round now (also what the timer runs); resolves when its changes are applied. */
  poll (): Promise<void> {
    this.polling ??= this.round().finally(() => { this.polling = undefined })
    return this.polling
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined
      this.poll().finally(() => { this.schedule() }).catch(() => {})
    }, this.options.intervalMs)
  }

  private async round (): Promise<void> {
    let now: Set<string>
    try {
      now = new Set(await this.matching())
    } catch {
      return // the next period lists again
    }
    if (this.stopped) return
    const subscribed = new Set(this.options.subscribed())
    const added = [...now].filter((topic) => !subscribed.has(topic))
    const removed = [...subscribed].filter((topic) => !now.has(topic))
    // A topic whose subscribe fails (its leader is still being elected) is tried again next period.
    await Promise.allSettled([...added.map((topic) => this.options.add(topic)), ...removed.map((topic) => this.options.remove(topic))])
  }
}
