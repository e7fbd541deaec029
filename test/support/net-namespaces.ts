// Test fixture: a private network of Linux network namespaces (`ip netns`, needs root) for node
// processes, so that a test can cut one node off and heal it. A hub namespace holds a bridge;
// each node's namespace has a veth to the hub, and this process (the root namespace) has one
// veth to the hub with the .254 address, so in-process clients reach every node. Isolating a
// node takes the hub's end of its veth down: its packets and everyone's packets to it are
// dropped, its sockets stay open (a cut cable, not a closed port). Names and the /24 derive from
// this process's PID; everything created is deleted by remove() and when the process exits,
// and namespaces left by an earlier run whose process is gone are deleted at creation.
import { execFileSync } from 'node:child_process'

const PREFIX = 'bzc'
const HUB_BRIDGE = 'br0'
const ROOT_HOST = 254

export interface NodeNetwork {
  netns: string
  host: string
}

export interface NetNamespaces {
  nodes: NodeNetwork[]
  /** Cuts node `index` off from everyone (its hub link down). */
  isolate (index: number): void
  heal (index: number): void
  healAll (): void
  /** Deletes every namespace and veth this fixture created (idempotent). */
  remove (): void
}

function ip (...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Deletes namespaces of this fixture whose creating process has exited, and kills what still runs in them. */
function removeStale (): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const match = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (match === null || alive(Number(match[1]))) continue
    for (const pid of ip('netns', 'pids', name).split('\n').filter((entry) => entry.length > 0)) {
      try { process.kill(Number(pid), 'SIGKILL') } catch { /* already gone */ }
    }
    try { ip('netns', 'del', name) } catch { /* deleted concurrently */ }
  }
}

/** A /24 in 10.128.0.0/9 derived from the PID that no route of this machine uses yet. */
function freeSubnet (): string {
  const routes = ip('-4', 'route', 'show', 'table', 'all')
  for (let attempt = 0; attempt < 256; attempt++) {
    const n = (process.pid + attempt * 7919) % 32_768
    const subnet = `10.${128 + (n >> 8)}.${n & 255}`
    if (!routes.includes(`${subnet}.`)) return subnet
  }
  throw new Error('no free 10.128.0.0/9 subnet for the test network')
}

/**
 * Creates the hub and `count` node namespaces. Throws (having removed what it made) when the
 * machine does not allow it, e.g. without root; the message says what failed.
 */
export function createNetNamespaces (count: number): NetNamespaces {
  removeStale()
  const tag = `${PREFIX}${process.pid}`
  const hub = `${tag}-hub`
  const subnet = freeSubnet()
  const nodes: NodeNetwork[] = Array.from({ length: count }, (_, i) => ({ netns: `${tag}-n${i + 1}`, host: `${subnet}.${i + 1}` }))
  const hubEnd = (i: number): string => `${tag}h${i + 1}`
  const created: string[] = []
  let removed = false
  const remove = (): void => {
    if (removed) return
    removed = true
    process.off('exit', remove)
    for (const name of created.reverse()) {
      try { ip('netns', 'del', name) } catch { /* already gone */ }
    }
    // The root end dies with its hub peer; deleting it here makes that immediate.
    try { ip('link', 'del', `${tag}r`) } catch { /* already gone */ }
  }
  process.on('exit', remove)
  try {
    ip('netns', 'add', hub)
    created.push(hub)
    ip('-n', hub, 'link', 'add', HUB_BRIDGE, 'type', 'bridge')
    ip('-n', hub, 'link', 'set', HUB_BRIDGE, 'up')
    ip('link', 'add', `${tag}r`, 'type', 'veth', 'peer', 'name', `${tag}rh`, 'netns', hub)
    ip('-n', hub, 'link', 'set', `${tag}rh`, 'master', HUB_BRIDGE, 'up')
    ip('addr', 'add', `${subnet}.${ROOT_HOST}/24`, 'dev', `${tag}r`)
    ip('link', 'set', `${tag}r`, 'up')
    nodes.forEach((node, i) => {
      ip('netns', 'add', node.netns)
      created.push(node.netns)
      ip('-n', node.netns, 'link', 'set', 'lo', 'up')
      ip('-n', node.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', hubEnd(i), 'netns', hub)
      ip('-n', node.netns, 'addr', 'add', `${node.host}/24`, 'dev', 'eth0')
      ip('-n', node.netns, 'link', 'set', 'eth0', 'up')
      ip('-n', hub, 'link', 'set', hubEnd(i), 'master', HUB_BRIDGE, 'up')
    })
  } catch (error) {
    remove()
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new Error(`cannot create network namespaces: ${stderr !== undefined && stderr.length > 0 ? stderr : String(error)}`)
  }
  const setLink = (index: number, state: 'up' | 'down'): void => {
    if (index < 0 || index >= count) throw new RangeError(`no node ${index}`)
    ip('-n', hub, 'link', 'set', hubEnd(index), state)
  }
  return {
    nodes,
    isolate: (index) => { setLink(index, 'down') },
    heal: (index) => { setLink(index, 'up') },
    healAll: () => { for (let i = 0; i < count; i++) setLink(i, 'up') },
    remove
  }
}
