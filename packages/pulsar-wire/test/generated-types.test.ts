import t from 'tap'
import { readFileSync } from 'node:fs'
import { generateTypes } from '../scripts/generate-types.ts'

t.test('src/pulsar-api.ts is what scripts/generate-types.ts makes of PulsarApi.proto', async (t) => {
  t.equal(readFileSync(new URL('../src/pulsar-api.ts', import.meta.url), 'utf8'), generateTypes(), 'run node scripts/generate-types.ts')
})
