// One socket write per send: after the handshake, a Noise message (2-byte length + ciphertext)
// reaches the TCP socket as one buffer, so no 2-byte segment leaves on its own; large lists
// still go as they are. Counts writes, no timing.
import t from 'tap'
import { Uint8ArrayList } from 'uint8arraylist'
import { SINGLE_WRITE_MAX_BYTES, writeAsOneBuffer } from '../src/single-write-tcp.ts'
import type { MultiaddrConnection } from '@libp2p/interface'
import { recordSocketWrites, startTransport } from './fixtures/helpers.ts'

t.test('client requests and answers reach the socket one buffer per Noise message', async (t) => {
  const server = await startTransport(t)
  const client = await startTransport(t)
  server.onClientRequest(({ body }) => body)
  const connection = await client.connectClient(server.addresses()[0])
  await connection.request('warm-up')
  const sizes = await recordSocketWrites(async () => {
    for (let i = 0; i < 20; i++) t.equal(await connection.request(`request ${i}`), `request ${i}`)
  })
  t.ok(sizes.length >= 40, `the requests and answers were written (${sizes.length} writes)`)
  t.same(sizes.filter((size) => size === 2), [], 'no Noise length prefix is written on its own')
})

function recordingConnection (): { connection: MultiaddrConnection, sent: Uint8ArrayList[] } {
  const sent: Uint8ArrayList[] = []
  const connection = { sendData: (data: Uint8ArrayList) => { sent.push(data); return { sentBytes: data.byteLength, canSendMore: true } } }
  return { connection: connection as unknown as MultiaddrConnection, sent }
}

t.test('a list up to the bound becomes one buffer with the same bytes; a bigger one is passed as it is', async (t) => {
  const { connection, sent } = recordingConnection()
  const sendData = (writeAsOneBuffer(connection) as unknown as { sendData: (data: Uint8ArrayList) => unknown }).sendData
  sendData(new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(7, 8, 9)))
  t.same([...sent[0]].map((buffer) => [...buffer]), [[0, 3, 7, 8, 9]])
  const big = new Uint8ArrayList(new Uint8Array(SINGLE_WRITE_MAX_BYTES), new Uint8Array(10))
  sendData(big)
  t.equal(sent[1], big)
})
