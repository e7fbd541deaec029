// Child process of the real-disk crash test: appends to many groups on a real disk in a loop,
// syncs, and prints `synced <group> <lastIndex>` once each sync() resolved. The parent kills
// it with SIGKILL at a random moment. It is started early and opens the store only when told. Now and then it snapshots a group to compact its log.
import { SeededRandom } from '@blazar/env'
import { NodeDisk } from '../../src/node-disk.ts'
import { LogStore } from '../../src/store.ts'
import { crashEntry, crashSettings } from './crash-data.ts'

const [root, groupCount, seed] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const random = new SeededRandom(seed)
process.stdout.on('error', () => process.exit(0))
// Started ahead of time by the parent: wait for its go (the previous worker is dead by then).
await new Promise<void>((resolve) => { process.stdin.once('data', () => resolve()) })
const store = await LogStore.open(new NodeDisk(root), { settings: crashSettings })
const names = Array.from({ length: groupCount }, (_, i) => `crash/p${i}`)
const logs = await Promise.all(names.map((name) => store.openGroup(name)))
process.stdout.write('ready\n')
for (;;) {
  const chosen = logs.filter(() => random.chance(0.6))
  for (const log of chosen) {
    const group = names[logs.indexOf(log)]
    const from = log.lastIndex() + 1
    const count = random.int(1, 5)
    log.append(Array.from({ length: count }, (_, i) => crashEntry(group, from + i)))
    log.setHardState({ term: crashEntry(group, log.lastIndex()).term, vote: 'n1', commit: from - 1 })
  }
  await Promise.all(chosen.map((log) => log.sync()))
  process.stdout.write(chosen.map((log) => `synced ${names[logs.indexOf(log)]} ${log.lastIndex()}\n`).join(''))
  const long = chosen.find((log) => log.lastIndex() - log.firstIndex() > 300)
  if (long !== undefined) {
    const index = long.lastIndex() - 40
    await long.saveSnapshot({ index, term: long.termAt(index)!, config: { voters: ['n1'], learners: [] } }, new Uint8Array([index & 0xff]))
  }
}
