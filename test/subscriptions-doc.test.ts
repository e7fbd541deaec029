// docs/subscriptions.md carries the dispatcher statechart exactly as scripts/subscription-statecharts.ts
// generates it from the xstate machine: after a change to the machine, run the script.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { DOC, statechartBlock, withCurrentStatechart } from '../scripts/subscription-statecharts.ts'

t.test('the statechart in docs/subscriptions.md is the generated one', async (t) => {
  const doc = readFileSync(DOC, 'utf8')
  t.ok(doc.includes(statechartBlock()), 'up to date (node scripts/subscription-statecharts.ts rewrites it)')
  t.equal(withCurrentStatechart(doc), doc, 'regenerating changes nothing')
  const [exclusive, others] = statechartBlock().split('**').filter((part) => part.includes('stateDiagram-v2'))
  t.match(exclusive, /noConsumer --> consuming : ATTACH/, 'generated from the machine\'s transitions')
  t.notMatch(exclusive, /admitsAnotherConsumer/, 'Exclusive admits one consumer')
  t.match(others, /consuming --> consuming : ATTACH \[admitsAnotherConsumer\]/, 'the other types many')
})
