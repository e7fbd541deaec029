// Counts test cases in tap's TAP output and prints the closing line of scripts/test.
// A test case is a result line one level inside a test file: each top-level `t.test` (or a
// bare assertion at file level). A suite whose tap run failed without any failing case
// (a crashed file, a timeout, a coverage error) counts as one failure so it cannot pass silently.
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const [stageFailuresArg, logDir] = process.argv.slice(2)
let passed = 0
let failed = Number(stageFailuresArg)

for (const file of readdirSync(logDir).filter((name) => name.endsWith('.tap'))) {
  let suiteFailed = 0
  for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
    const match = /^ {4}(not )?ok \d+/.exec(line)
    if (match === null || /# (SKIP|TODO)/.test(line)) continue
    if (match[1] === undefined) passed++
    else suiteFailed++
  }
  const suiteExitedBadly = existsSync(join(logDir, file.replace(/\.tap$/, '.failed')))
  failed += suiteFailed > 0 ? suiteFailed : suiteExitedBadly ? 1 : 0
}
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
