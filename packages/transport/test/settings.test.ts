import t from 'tap'
import { defaultTransportSettings, InvalidSettingError, resolveSettings } from '../src/index.ts'

t.test('defaults fill in, overrides apply, nonsense is refused', async (t) => {
  t.same(resolveSettings(), defaultTransportSettings)
  t.equal(resolveSettings({ maxFrameBytes: 1024 }).maxFrameBytes, 1024)
  t.throws(() => resolveSettings({ maxFrameBytes: 0 }), InvalidSettingError)
  t.throws(() => resolveSettings({ raftQueueMaxMessages: 1.5 }), InvalidSettingError)
  t.throws(() => resolveSettings({ maxFrameBytes: 2 ** 31 }), InvalidSettingError)
  t.throws(() => resolveSettings({ reconnectBaseDelayMs: 10, reconnectMaxDelayMs: 5 }), InvalidSettingError)
  t.throws(() => resolveSettings({ nodeHeartbeatIntervalMs: 1000, peerLivenessTimeoutMs: 1000 }), InvalidSettingError)
  t.throws(() => resolveSettings({ noSuchSetting: 1 } as never), InvalidSettingError)
})
