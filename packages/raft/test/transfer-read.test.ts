// Leader transfer (thesis §3.10, TimeoutNow) and ReadIndex linearizable reads (thesis §6.4).
import t from 'tap'
import { scenario } from './support/script.ts'

t.test('leader transfer hands leadership to a caught-up follower', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    propose 1 x=1
    transfer 1 3
    stabilize
    expect result transfer-3 ok
    expect leader 3
    expect term 3 2
    expect result x=1 ok
    expect no-violations
  `)
})

t.test('two callers waiting on the same transfer both get its outcome', async (t) => {
  // node-moves seed 420: the replica mover and the preferred-leader hand-off both asked for the
  // same transfer; the second call replaced the first's waiter, whose promise never settled.
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    partition 1 2 | 3
    propose 1 behind
    stabilize
    transfer 1 3
    transfer-again 1 3
    run 1200
    expect result transfer-3 TRANSFER_FAILED
    expect result transfer-again-3 TRANSFER_FAILED
    heal
    stabilize
    transfer 1 3
    transfer-again 1 3
    stabilize
    expect result transfer-3 ok
    expect result transfer-again-3 ok
    expect leader 3
  `)
})

t.test('proposals are refused during a transfer, and a transfer to an unreachable node aborts', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    partition 1 2 | 3
    propose 1 behind                            # 3 lags, so the transfer must wait to catch it up
    stabilize
    transfer 1 3
    propose 1 during
    stabilize
    expect result during TRANSFER_IN_PROGRESS
    run 1200
    expect result transfer-3 TRANSFER_FAILED
    expect leader 1
    propose 1 after
    stabilize
    expect result after ok
  `)
})

t.test('readIndex confirms leadership with a quorum before serving', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    propose 1 x=1
    stabilize
    read 1 r1
    stabilize
    expect result r1 ok
    read 2 r2                                   # a follower forwards the read to the leader
    stabilize
    expect result r2 ok
    partition 1 | 2 3
    read 1 r3
    stabilize 100
    expect result r3 pending                    # no quorum confirms the isolated leader
    run 2100
    expect result r3 LEADERSHIP_LOST
  `)
})

t.test('a new leader serves reads only after committing an entry in its term', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    block 2 1 append
    block 2 3 append
    transfer 1 2                                # 2 wins term 2, but its no-op cannot replicate
    stabilize
    expect leader 2
    read 2 early
    stabilize 50
    expect result early pending
    unblock
    stabilize 200                               # the next heartbeat round re-sends the no-op
    expect result early ok
  `)
})

t.test('a follower read waits until the follower applied the leader\'s confirmed index', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    block 1 3 append
    block 1 3 heartbeat                         # 3 learns nothing new from the leader
    propose 1 x=1
    stabilize 20
    expect result x=1 ok                        # committed by 1 and 2
    read 3 r
    stabilize 100
    expect result r pending                     # the leader confirmed index 2; 3 has not applied it
    unblock
    stabilize 300
    expect result r ok
    expect value 3 x 1
  `)
})

t.test('a forwarded read fails when the leader is unreachable', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    partition 1 | 2 3
    read 2 lost
    run 1100
    expect result lost READ_TIMEOUT
  `)
})
