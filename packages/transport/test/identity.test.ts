import t from 'tap'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_FILE, loadOrCreateIdentity } from '../src/identity.ts'
import { IdentityError } from '../src/errors.ts'

t.test('the key is created once with mode 0600 and reused on the next start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-identity-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const first = await loadOrCreateIdentity(join(dir, 'data'))
  t.equal(first.created, true)
  t.match(first.id, /^12D3KooW/, 'an Ed25519 PeerId')
  t.equal(statSync(join(dir, 'data', IDENTITY_FILE)).mode & 0o777, 0o600)
  const second = await loadOrCreateIdentity(join(dir, 'data'))
  t.equal(second.created, false)
  t.equal(second.id, first.id, 'same PeerId after restart')
})

t.test('a corrupt key file is an error and is never overwritten', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-identity-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, IDENTITY_FILE), 'not a key', { mode: 0o600 })
  await t.rejects(loadOrCreateIdentity(dir), IdentityError)
  t.equal(statSync(join(dir, IDENTITY_FILE)).size, 9, 'file left as it was')
})
