// `@blazar/pulsar-wire/messages` is what @blazar/protocol (pure and portable) imports: its
// import closure must not reach the frame codec's native CRC32C module.
import t from 'tap'
import { readFileSync } from 'node:fs'

function closure (file: URL, seen = new Set<string>()): Set<string> {
  if (seen.has(file.href)) return seen
  seen.add(file.href)
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^'"]*from '([^']+)'/gm)) {
    if (spec.startsWith('.')) closure(new URL(spec, file), seen)
    else seen.add(spec)
  }
  return seen
}

t.test('the messages entry needs only protobufjs', async (t) => {
  const imports = [...closure(new URL('../src/messages.ts', import.meta.url))].filter((s) => !s.startsWith('file:'))
  t.same(imports, ['protobufjs'])
})
