import t from 'tap'
import { buildProgram } from '../src/index.ts'

t.test('help names the command and describes it', async (t) => {
  const help = buildProgram().helpInformation()
  t.match(help, /Usage: blazar/)
  t.match(help, /distributed message broker/)
})
