import t from 'tap'
import { SeededRandom } from '../src/index.ts'

t.test('the same seed gives the same sequence, another seed another', async (t) => {
  const draw = (seed: number): number[] => { const r = new SeededRandom(seed); return Array.from({ length: 8 }, () => r.int(0, 1000)) }
  t.same(draw(7), draw(7))
  t.not(draw(7).join(), draw(8).join())
})

t.test('int stays within its bounds', async (t) => {
  const random = new SeededRandom(1)
  for (let i = 0; i < 10_000; i++) {
    const value = random.int(3, 9)
    if (value < 3 || value >= 9 || !Number.isInteger(value)) t.fail(`out of range: ${value}`)
  }
  t.throws(() => random.int(5, 5), RangeError)
})
