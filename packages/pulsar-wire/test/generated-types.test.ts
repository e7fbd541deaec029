import t from 'tap'
import { readFileSync } from 'node:fs'
import { generateDescriptor, generateTypes } from '../scripts/generate-types.ts'

const read = (name: string): string => readFileSync(new URL(`../src/${name}`, import.meta.url), 'utf8')

t.test('the generated files are what scripts/generate-types.ts makes of PulsarApi.proto', async (t) => {
  t.equal(read('pulsar-api.ts'), generateTypes(), 'run node scripts/generate-types.ts')
  t.equal(read('pulsar-api-descriptor.ts'), generateDescriptor(), 'run node scripts/generate-types.ts')
})
