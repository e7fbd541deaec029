// Finds direct uses of real time, real randomness, the disk, sockets and libp2p in source text.
const forbidden: RegExp[] = [
  /\bDate\.now\b/, /\bperformance\.now\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/,
  /\bMath\.random\b/, /\bcrypto\.random/, /\bnew Date\(\s*\)/,
  /['"](node:)?(fs|fs\/promises|net|dgram|child_process)['"]/,
  /['"](libp2p|@libp2p\/[^'"]+|@chainsafe\/[^'"]+)['"]/
]

export interface WorldAccess {
  line: number
  text: string
}

export function findWorldAccess (source: string): WorldAccess[] {
  const hits: WorldAccess[] = []
  source.split('\n').forEach((text, i) => {
    const code = text.trim()
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return
    const withoutTrailingComment = code.replace(/\s\/\/.*$/, '')
    if (forbidden.some((pattern) => pattern.test(withoutTrailingComment))) hits.push({ line: i + 1, text: code })
  })
  return hits
}
