// Property tests: random sequences of append / truncate / hard state / snapshot / sync /
// checkpoint (small journal) / delete (and use again under the same name) / reopen /
// crash-at-a-random-point (also in the middle of a delete) against a simple model, on the
// simulated disk. After every crash each group must hold the state after some prefix of its
// operations that includes every operation a resolved sync() covered, with no corruption; a
// group whose delete was under way is either that or empty.
import t from 'tap'
import fc from 'fast-check'
import type { HardState, LogEntry, RaftStorage, SnapshotMeta } from '@blazar/env'
import { SeededRandom } from '@blazar/env'
import { SimDisk } from '../src/sim-disk.ts'
import type { CrashMode } from '../src/sim-disk.ts'
import { LogStore } from '../src/store.ts'
import { entry } from './support/compliance.ts'

interface GroupModel {
  first: number
  entries: LogEntry[]
  snapshot: SnapshotMeta | null
  hardState: HardState
}

const config = { voters: ['a', 'b', 'c'], learners: [] }
const settings = { segmentBytes: 4096, sparseIndexBytes: 256, checkpointJournalBytes: 4096, directWriteBytes: 1500, unjournaledDirectBytes: 6000, segmentWriteBufferBytes: 2048, readBlockBytes: 512, readCacheBytes: 4096 }

type Action =
  | { type: 'append', group: number, count: number, size: number, newTerm: boolean }
  | { type: 'truncate', group: number, back: number }
  | { type: 'hardState', group: number, commit: number }
  | { type: 'snapshot', group: number, back: number, conflict: boolean }
  | { type: 'sync', group: number }
  | { type: 'delete', group: number, crash: { mode: CrashMode, ticks: number } | null }
  | { type: 'reopen' }
  | { type: 'crash', mode: CrashMode, ticks: number }

const group = fc.integer({ min: 0, max: 1 })
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('append' as const), group, count: fc.integer({ min: 1, max: 6 }), size: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 400, max: 900 })), newTerm: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('truncate' as const), group, back: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('hardState' as const), group, commit: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('snapshot' as const), group, back: fc.integer({ min: 0, max: 8 }), conflict: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('sync' as const), group }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), group, crash: fc.option(fc.record({ mode: fc.constantFrom<CrashMode>('process', 'power', 'torn'), ticks: fc.nat(120) })) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('crash' as const), mode: fc.constantFrom<CrashMode>('process', 'power', 'torn'), ticks: fc.nat(40) }) }
)

function clone (model: GroupModel): GroupModel {
  return { first: model.first, entries: model.entries.slice(), snapshot: model.snapshot, hardState: { ...model.hardState } }
}

function lastIndex (model: GroupModel): number {
  return model.first - 1 + model.entries.length
}

function termAt (model: GroupModel, index: number): number | undefined {
  if (model.snapshot !== null && index === model.snapshot.index) return model.snapshot.term
  return model.entries[index - model.first]?.term
}

async function observe (log: RaftStorage): Promise<GroupModel> {
  const entries = await log.read(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
  return { first: log.firstIndex(), entries, snapshot: log.recovered.snapshot, hardState: log.recovered.hardState }
}

function canonical (model: GroupModel): string {
  const { hardState, snapshot } = model
  return JSON.stringify([
    model.first,
    model.entries.map((e) => [e.index, e.term, e.kind, [...e.data]]),
    snapshot === null ? null : [snapshot.index, snapshot.term, snapshot.config.voters, snapshot.config.learners],
    [hardState.term, hardState.vote, hardState.commit]
  ])
}

function sameState (a: GroupModel, b: GroupModel): boolean {
  return canonical(a) === canonical(b)
}

/** Whether `middle` is `before` plus some but not all of the entries `after` appended. */
function partOfAppend (before: GroupModel, middle: GroupModel, after: GroupModel): boolean {
  const n = middle.entries.length
  if (n <= before.entries.length || n >= after.entries.length) return false
  return sameState(before, { ...middle, entries: middle.entries.slice(0, before.entries.length) }) &&
    sameState({ ...after, entries: after.entries.slice(0, n) }, middle) && sameState(before, { ...after, entries: after.entries.slice(0, before.entries.length) })
}

async function run (actions: Action[], seed: number): Promise<void> {
  let disk = new SimDisk({ random: new SeededRandom(seed) })
  let store = await LogStore.open(disk, { settings })
  const names = ['orders/0', 'orders/1']
  let logs = await Promise.all(names.map((name) => store.openGroup(name)))
  const empty = (): GroupModel => ({ first: 1, entries: [], snapshot: null, hardState: { term: 0, vote: null, commit: 0 } })
  // For each group: the states after each of its operations since the last resolved sync (index 0 = synced).
  const histories: GroupModel[][] = [[empty()], [empty()]]
  const current = (g: number): GroupModel => histories[g][histories[g].length - 1]
  const record = (g: number, next: GroupModel): void => { histories[g].push(next) }
  const syncDone = (g: number, upto: number): void => { histories[g] = histories[g].slice(upto) }
  const recover = async (): Promise<void> => {
    store = await LogStore.open(disk, { settings })
    logs = await Promise.all(names.map((name) => store.openGroup(name)))
    for (let g = 0; g < 2; g++) {
      if (logs[g].recovered.corruption !== null) throw new Error(`group ${g} reports corruption: ${JSON.stringify(logs[g].recovered.corruption)}`)
      const seen = await observe(logs[g])
      let match = histories[g].findIndex((candidate) => sameState(candidate, seen))
      // An append never synced may also survive in part (a torn direct write keeps whole records):
      // the state between the one before that append and the one after it.
      if (match < 0) match = histories[g].findIndex((candidate, k) => k > 0 && partOfAppend(histories[g][k - 1], seen, candidate))
      if (match >= 0 && !sameState(histories[g][match], seen)) histories[g][match] = seen
      if (match < 0) throw new Error(`group ${g} recovered a state that is no prefix of its operations: first ${seen.first} last ${lastIndex(seen)} hard ${JSON.stringify(seen.hardState)}; candidates ${histories[g].map((c) => `${c.first}..${lastIndex(c)}`).join(', ')}`)
      histories[g] = [histories[g][match]]
    }
  }
  let term = 1
  for (const step of actions) {
    if (step.type === 'reopen') {
      await store.close()
      await recover()
      continue
    }
    if (step.type === 'crash') {
      const syncs = logs.map((log) => log.sync().catch(() => {}))
      for (let i = 0; i < step.ticks; i++) await Promise.resolve()
      disk = disk.crash(step.mode)
      await Promise.all(syncs)
      await store.close().catch(() => {})
      await recover()
      continue
    }
    if (step.type === 'delete') {
      const g = step.group
      if (step.crash === null) {
        await store.deleteGroup(names[g])
        histories[g] = [empty()]
        logs[g] = await store.openGroup(names[g])
        continue
      }
      // Crashed at a random point of the delete: the group is as before the delete, or empty.
      histories[g].push(empty())
      const deleting = store.deleteGroup(names[g]).catch(() => {})
      const syncs = logs.map((log) => log.sync().catch(() => {}))
      for (let i = 0; i < step.crash.ticks; i++) await Promise.resolve()
      disk = disk.crash(step.crash.mode)
      await Promise.all([deleting, ...syncs])
      await store.close().catch(() => {})
      await recover()
      continue
    }
    const g = step.group
    const log = logs[g]
    const model = clone(current(g))
    if (step.type === 'append') {
      if (step.newTerm) term++
      const from = lastIndex(model) + 1
      const batch = Array.from({ length: step.count }, (_, i) => entry(from + i, Math.max(term, termAt(model, from - 1) ?? 0), step.size))
      log.append(batch)
      model.entries.push(...batch)
      record(g, model)
    } else if (step.type === 'truncate') {
      const from = Math.max(model.first, lastIndex(model) - step.back)
      if (from > lastIndex(model)) continue
      log.truncateSuffix(from)
      model.entries.length = from - model.first
      record(g, model)
    } else if (step.type === 'hardState') {
      const state = { term, vote: step.commit % 2 === 0 ? 'b' : null, commit: step.commit }
      log.setHardState(state)
      model.hardState = state
      record(g, model)
    } else if (step.type === 'snapshot') {
      const index = Math.max(model.snapshot?.index ?? 0, lastIndex(model) - step.back)
      if (index === 0) continue
      const snapTerm = step.conflict ? term + 1 : (termAt(model, index) ?? term + 1)
      const meta = { index, term: snapTerm, config }
      const reset = termAt(model, index) !== snapTerm || index > lastIndex(model)
      if (step.conflict) term++
      const kept = reset ? [] : model.entries.filter((e) => e.index > index)
      record(g, { first: index + 1, entries: kept, snapshot: meta, hardState: model.hardState })
      const length = histories[g].length
      await log.saveSnapshot(meta, new Uint8Array([index & 0xff, snapTerm & 0xff]))
      syncDone(g, length - 1)
      const loaded = await log.loadSnapshot()
      if (loaded?.meta.index !== index || loaded.data[0] !== (index & 0xff)) throw new Error('snapshot did not load back')
    } else {
      const length = histories[g].length
      await log.sync()
      syncDone(g, length - 1)
    }
    const live = await observe(log)
    const expected = current(g)
    if (live.first !== expected.first || JSON.stringify(live.entries.map((e) => [e.index, e.term])) !== JSON.stringify(expected.entries.map((e) => [e.index, e.term]))) {
      throw new Error(`live log of group ${g} differs from the model after ${step.type}`)
    }
    if (step.type === 'append' || step.type === 'truncate') {
      for (let index = expected.first - 1; index <= lastIndex(expected) + 1; index++) {
        if (log.termAt(index) !== termAt(expected, index) && !(index === 0 && log.termAt(0) === 0)) throw new Error(`termAt(${index}) = ${log.termAt(index)}, model ${termAt(expected, index)}`)
      }
    }
  }
  await store.close()
  await recover()
  await store.close()
}

// Seeded, so a CI run is the same run every time (STORAGE_MODEL_SEED explores others). An
// unseeded CI run found the counterexample below (fast-check seed 487532332), kept as its own test.
const MODEL_SEED = Number(process.env.STORAGE_MODEL_SEED ?? 20261202)

t.test('random operations, reopens and crashes match the model', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 60 }), fc.nat(), run), { numRuns: Number(process.env.STORAGE_MODEL_RUNS ?? 150), seed: MODEL_SEED })
  t.pass(`150 runs from seed ${MODEL_SEED}`)
})

t.test('a journaled append after appends that needed no journal record recovers them all', async (t) => {
  // Found 2026-12-02 (fast-check seed 487532332, shrunk): append x3 (a direct write, journaled as
  // an appendRef), sync, append x3 (a direct write with no journal record), sync, an append small
  // enough for the journal, then a process crash. The journal named entries 1..3 and 7 but not
  // 4..6, so reopening reported group 0 corrupt ("entries 4..6 are missing"). The group's next
  // journal record now names the unjournaled entries first.
  const counterexample: Action[] = [
    { type: 'append', group: 0, count: 3, size: 462, newTerm: false }, { type: 'sync', group: 0 },
    { type: 'append', group: 0, count: 3, size: 462, newTerm: false }, { type: 'sync', group: 0 },
    { type: 'append', group: 0, count: 1, size: 0, newTerm: false }, { type: 'crash', mode: 'process', ticks: 1 },
    { type: 'sync', group: 0 }, { type: 'sync', group: 0 },
    { type: 'append', group: 0, count: 1, size: 400, newTerm: false }, { type: 'append', group: 0, count: 1, size: 0, newTerm: false }, { type: 'sync', group: 0 }
  ]
  const failure = await run(counterexample, 0).then(() => null, (error: unknown) => String(error))
  t.equal(failure, null, 'the recovered store matches the model')
})
