import t from 'tap'
import fc from 'fast-check'
import { History } from '../src/history.ts'
import { checkLinearizable, checkRegister } from '../src/linearizability.ts'

// A tiny script language: "w1 x" invokes write x by client 1, "r2" invokes a read by client 2,
// "ok1" / "ok2 x" / "fail1" / "info1" complete client N's open operation.
function history (script: string): History {
  const h = new History()
  const open = new Map<number, ReturnType<History['invoke']>>()
  for (const word of script.trim().split(/\s*;\s*/)) {
    const [cmd, arg] = word.split(' ')
    const client = Number(cmd.replace(/\D/g, ''))
    const verb = cmd.replace(/\d/g, '')
    if (verb === 'w') open.set(client, h.invoke(client, 'write', 'k', arg, 0))
    else if (verb === 'r') open.set(client, h.invoke(client, 'read', 'k', null, 0))
    else {
      const op = open.get(client)
      if (op === undefined) throw new Error(`no open op for ${client}`)
      open.delete(client)
      h.complete(op, verb as 'ok' | 'fail' | 'info', 0, arg === undefined ? null : arg === '-' ? null : arg)
    }
  }
  return h
}

const verdict = (script: string) => checkRegister(history(script).operations())

t.test('accepts sequential and concurrent histories that have a linearization', async (t) => {
  t.equal(verdict('w1 a; ok1; r1; ok1 a'), true)
  t.equal(verdict('r1; ok1 -'), true, 'initial value is null')
  t.equal(verdict('w1 a; w2 b; ok1; ok2; r3; ok3 b'), true)
  t.equal(verdict('w1 a; w2 b; ok1; ok2; r3; ok3 a'), true, 'concurrent writes may order either way')
  t.equal(verdict('w1 a; r2; ok2 a; ok1'), true, 'a read may see a concurrent write')
  t.equal(verdict('w1 a; r2; ok2 -; ok1'), true, 'or not yet see it')
})

t.test('rejects histories with no linearization', async (t) => {
  t.type(verdict('w1 a; ok1; r1; ok1 -'), 'string', 'stale read after a completed write')
  t.type(verdict('w1 a; ok1; w1 b; ok1; r2; ok2 a'), 'string', 'read of an overwritten value')
  t.type(verdict('r1; ok1 z'), 'string', 'read of a value never written')
  t.type(verdict('w1 a; w2 b; ok1; ok2; r3; ok3 a; r3; ok3 b; r3; ok3 a'), 'string', 'value flips back')
  t.type(verdict('w1 a; r2; ok2 a; r2; ok2 -; ok1'), 'string', 'a read goes back in time')
})

t.test('failed writes have no effect; unknown writes may take effect any time after invocation', async (t) => {
  t.type(verdict('w1 a; fail1; r2; ok2 a'), 'string', 'a failed write must not be seen')
  t.equal(verdict('w1 a; info1; r2; ok2 -; r2; ok2 a'), true, 'an unknown write may land late')
  t.equal(verdict('w1 a; info1; r2; ok2 -'), true, 'or never')
  t.type(verdict('r2; ok2 a; w1 a; info1'), 'string', 'but not before its invocation')
  t.type(verdict('w1 a; info1; w2 b; ok2; r3; ok3 a; r3; ok3 b; r3; ok3 a'), 'string', 'and only once')
})

t.test('keys are checked independently and a failure names its key', async (t) => {
  const h = new History()
  const w = h.invoke(1, 'write', 'x', 'a', 0)
  h.complete(w, 'ok', 0)
  const r = h.invoke(2, 'read', 'y', null, 0)
  h.complete(r, 'ok', 0, 'a')
  const result = checkLinearizable(h.operations())
  t.equal(result.ok, false)
  t.equal(result.key, 'y')
})

t.test('a sequential history replayed against a register is always accepted; a corrupted read is rejected', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }), (ops) => {
    const h = new History()
    let value: string | null = null
    let n = 0
    let lastRead: ReturnType<History['invoke']> | null = null
    for (const [isWrite] of ops) {
      if (isWrite) {
        const v = `v${n++}`
        h.complete(h.invoke(1, 'write', 'k', v, 0), 'ok', 0)
        value = v
      } else {
        lastRead = h.invoke(1, 'read', 'k', null, 0)
        h.complete(lastRead, 'ok', 0, value)
      }
    }
    if (checkRegister(h.operations()) !== true) return false
    if (lastRead === null) return true
    lastRead.value = 'never-written'
    return typeof checkRegister(h.operations()) === 'string'
  }), { seed: 42, numRuns: 200 }))
})

t.test('stays fast on a long concurrent history', async (t) => {
  const h = new History()
  const open: Array<ReturnType<History['invoke']>> = []
  let committed: string | null = null
  for (let i = 0; i < 400; i++) {
    const op = h.invoke(i % 4, i % 3 === 0 ? 'read' : 'write', 'k', i % 3 === 0 ? null : `v${i}`, 0)
    open.push(op)
    if (open.length === 3) {
      for (const o of open) {
        if (o.kind === 'write') committed = o.value
        h.complete(o, 'ok', 0, committed)
      }
      open.length = 0
    }
  }
  t.equal(checkRegister(h.operations()), true)
})
