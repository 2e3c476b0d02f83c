import { ClosedError } from '@lwm2m/core';
import type { DatagramMessage } from '@lwm2m/core';
import { createUdpSocket } from './udp-socket.js';

describe('createUdpSocket', () => {
  it('binds port 0 on 127.0.0.1, exchanges datagrams with peer addresses, and closes idempotently', async () => {
    const a = await createUdpSocket({ address: '127.0.0.1', port: 0 });
    const b = await createUdpSocket({ address: '127.0.0.1' });
    const bAddress = b.address();
    try {
      expect(a.address().port).toBeGreaterThan(0);
      const received = new Promise<DatagramMessage>((resolve) => b.on('message', resolve));
      await a.send(Uint8Array.of(1, 2, 3), b.address());
      const message = await received;
      expect([...message.data]).toEqual([1, 2, 3]);
      expect(message.peer).toEqual({ address: '127.0.0.1', port: a.address().port, family: 'IPv4' });
      expect(message.identity).toBeUndefined();
    } finally {
      await Promise.all([a.close(), a.close(), b.close()]);
    }
    await expect(a.send(Uint8Array.of(1), bAddress)).rejects.toBeInstanceOf(ClosedError);
    expect(() => a.address()).toThrow(ClosedError);
  });

  it('rejects when the port is taken', async () => {
    const a = await createUdpSocket({ address: '127.0.0.1', port: 0 });
    try {
      await expect(createUdpSocket({ address: '127.0.0.1', port: a.address().port })).rejects.toThrow();
    } finally {
      await a.close();
    }
  });

  it('sendNow sends without a Promise and never throws: failures are dropped, told through error when listened to', async () => {
    const a = await createUdpSocket({ address: '127.0.0.1' });
    const b = await createUdpSocket({ address: '127.0.0.1' });
    const bAddress = b.address();
    try {
      const received = new Promise<DatagramMessage>((resolve) => b.on('message', resolve));
      expect(a.sendNow!(Uint8Array.of(4, 5), bAddress)).toBeUndefined();
      expect([...(await received).data]).toEqual([4, 5]);
      // node:dgram refuses port 0 synchronously: no throw, no listener, nothing happens.
      expect(() => a.sendNow!(Uint8Array.of(1), { address: '127.0.0.1', port: 0 })).not.toThrow();
      const errors: Error[] = [];
      a.on('error', (error) => errors.push(error));
      a.sendNow!(Uint8Array.of(1), { address: '127.0.0.1', port: 0 });
      expect(errors).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(() => a.sendNow!(Uint8Array.of(1), bAddress)).not.toThrow();
  });
});
