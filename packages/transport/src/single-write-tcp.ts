// TCP for libp2p with one socket write per chunk list. @libp2p/tcp writes each buffer of the
// list it is handed with its own socket.write, and Noise hands it [2-byte length, ciphertext]
// for every message it seals, so with Nagle off (libp2p's default) every Yamux frame left as
// two write syscalls and two TCP segments, the first two bytes long. This transport wraps the
// upgrader libp2p gives @libp2p/tcp, so each connection it upgrades copies a list of up to
// SINGLE_WRITE_MAX_BYTES into one buffer before the write; larger lists go as they are (a copy
// would cost more than the writes it saves). Bytes and their order on the wire are unchanged.
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import { Uint8ArrayList } from 'uint8arraylist'

/** Chunk lists up to this size are copied into one buffer and written with one call. */
export const SINGLE_WRITE_MAX_BYTES = 64 * 1024

interface SendsData {
  sendData: (data: Uint8ArrayList) => unknown
}

function sendsData (connection: object): connection is SendsData {
  return typeof (connection as Partial<SendsData>).sendData === 'function'
}

/** Makes `connection` hand its socket one buffer per send (a connection without sendData is left as it is). */
export function writeAsOneBuffer<C extends MultiaddrConnection> (connection: C): C {
  if (!sendsData(connection)) return connection
  const sendData = connection.sendData.bind(connection)
  // subarray() copies only a list of several buffers; a single buffer is passed as it is.
  connection.sendData = (data) => sendData(data.byteLength <= SINGLE_WRITE_MAX_BYTES ? new Uint8ArrayList(data.subarray()) : data)
  return connection
}

function singleWriteUpgrader (upgrader: Upgrader): Upgrader {
  return {
    upgradeInbound: async (connection, options) => { await upgrader.upgradeInbound(writeAsOneBuffer(connection), options) },
    upgradeOutbound: async (connection, options) => await upgrader.upgradeOutbound(writeAsOneBuffer(connection), options),
    createInboundAbortSignal: (signal) => upgrader.createInboundAbortSignal(signal),
    getConnectionEncrypters: () => upgrader.getConnectionEncrypters(),
    getStreamMuxers: () => upgrader.getStreamMuxers()
  }
}

/** `tcp(options)` whose connections write each chunk list as one buffer. */
export function singleWriteTcp (options?: TCPOptions): (components: TCPComponents) => Transport {
  const factory = tcp(options)
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (address, dialOptions) => await dial(address, { ...dialOptions, upgrader: singleWriteUpgrader(dialOptions.upgrader) })
    transport.createListener = (listenOptions) => createListener({ ...listenOptions, upgrader: singleWriteUpgrader(listenOptions.upgrader) })
    return transport
  }
}
