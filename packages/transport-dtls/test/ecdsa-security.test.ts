import {
  AlertDescription,
  connectDtls,
  createDtlsServer,
  DtlsAlertError,
  DtlsHandshakeError,
  type DtlsServer,
  type EcdsaServerOptions,
} from '../src/index.js';
import { X509Certificate } from 'node:crypto';
import {
  encodeCertificateList,
  encodeHandshake,
  HandshakeType,
  parseHandshakeFragments,
} from '../src/handshake-messages.js';
import { ContentType, parseRecords, serializeRecord } from '../src/record.js';
import { createTestPki, type Issued, type TestPki } from '../src/test-pki.js';
import { delay, splitRecords, startProxy, type Direction, type LossyProxy } from './peers.js';

let pki: TestPki;
let root: Issued;
let serverCert: Issued;
let device: Issued;

beforeAll(() => {
  pki = createTestPki();
  root = pki.ca('sec-root');
  serverCert = pki.issue('localhost', root);
  device = pki.issue('sec-device', root);
});
afterAll(() => pki.remove());

let server: DtlsServer | undefined;
let proxy: LossyProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  proxy = undefined;
  server = undefined;
});

const mutualServer: () => EcdsaServerOptions = () => ({
  key: serverCert.keyFile,
  certificate: serverCert.certFile,
  clientAuth: { trustAnchors: root.certFile },
});

async function start(ecdsa: EcdsaServerOptions): Promise<DtlsServer> {
  server = createDtlsServer({ port: 0, address: '127.0.0.1', ecdsa });
  await server.listen();
  return server;
}

/**
 * A copy of `datagram` with `edit` applied to the body of the first epoch-0 handshake message of
 * `msgType` (plaintext records carry no MAC: an attacker on the path can do this).
 */
function editMessage(datagram: Buffer, msgType: number, edit: (body: Buffer) => void): Buffer | undefined {
  const out = Buffer.from(datagram);
  for (const record of parseRecords(out)) {
    if (record.type !== ContentType.handshake || record.epoch !== 0) continue;
    let at = 0;
    for (const f of parseHandshakeFragments(record.fragment)) {
      if (f.msgType === msgType) {
        const start = record.fragment.byteOffset - out.byteOffset + at + 12;
        edit(out.subarray(start, start + f.body.length));
        return out;
      }
      at += 12 + f.body.length;
    }
  }
  return undefined;
}

function tamper(direction: Direction, msgType: number, edit: (body: Buffer) => void): void {
  proxy!.filter = (d, data) => (d === direction ? (editMessage(data, msgType, edit) ?? true) : true);
}

/** A well-behaved client still gets in afterwards: the failure left the server working. */
async function expectServerStillWorks(s: DtlsServer): Promise<void> {
  const client = await connectDtls({
    peer: s.address(),
    ecdsa: { trustAnchors: root.certFile, key: device.keyFile, certificate: device.certFile },
    timeout: 5000,
  });
  await client.close();
}

async function waitForNoAssociations(s: DtlsServer): Promise<void> {
  for (let i = 0; i < 50 && s.associationCount > 0; i++) await delay(10);
  expect(s.associationCount).toBe(0);
}

describe('ECDHE-ECDSA handshakes fail with the right alert and no crash', () => {
  it('a server certificate from an untrusted CA: unknown_ca', async () => {
    const rogue = pki.ca('rogue-root');
    const rogueLeaf = pki.issue('localhost', rogue);
    const s = await start({ key: rogueLeaf.keyFile, certificate: rogueLeaf.certFile });
    const failure = connectDtls({ peer: s.address(), ecdsa: { trustAnchors: root.certFile }, timeout: 5000 });
    await expect(failure).rejects.toBeInstanceOf(DtlsHandshakeError);
    await expect(failure).rejects.toMatchObject({ alert: AlertDescription.unknownCa });
    await waitForNoAssociations(s);
  });

  it('a client certificate from an untrusted CA: unknown_ca from the server', async () => {
    const rogue = pki.ca('rogue-root-2');
    const rogueDevice = pki.issue('sec-device', rogue);
    const s = await start(mutualServer());
    const failure = connectDtls({
      peer: s.address(),
      ecdsa: { trustAnchors: root.certFile, key: rogueDevice.keyFile, certificate: rogueDevice.certFile },
      timeout: 5000,
    });
    await expect(failure).rejects.toBeInstanceOf(DtlsAlertError);
    await expect(failure).rejects.toMatchObject({ description: AlertDescription.unknownCa });
    await waitForNoAssociations(s);
    await expectServerStillWorks(s);
  });

  it('an expired server certificate: certificate_expired', async () => {
    const expired = pki.issue('localhost', root, { days: -1 });
    const s = await start({ key: expired.keyFile, certificate: expired.certFile });
    await expect(
      connectDtls({ peer: s.address(), ecdsa: { trustAnchors: root.certFile }, timeout: 5000 }),
    ).rejects.toMatchObject({ alert: AlertDescription.certificateExpired });
    await waitForNoAssociations(s);
  });

  it('an expired client certificate: certificate_expired from the server', async () => {
    const expired = pki.issue('old-device', root, { days: -1 });
    const s = await start(mutualServer());
    await expect(
      connectDtls({
        peer: s.address(),
        ecdsa: { trustAnchors: root.certFile, key: expired.keyFile, certificate: expired.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ description: AlertDescription.certificateExpired });
    await waitForNoAssociations(s);
  });

  it('a ServerKeyExchange whose signature was altered on the way: decrypt_error', async () => {
    const s = await start({ key: serverCert.keyFile, certificate: serverCert.certFile });
    proxy = await startProxy(s.address().port);
    tamper('toClient', HandshakeType.serverKeyExchange, (body) => {
      body[body.length - 1]! ^= 0x01; // the last byte of the ECDSA signature's s
    });
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port: proxy.port },
        ecdsa: { trustAnchors: root.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ alert: AlertDescription.decryptError });
    await waitForNoAssociations(s);
  });

  it('a ServerKeyExchange point replaced (signature no longer covers it): decrypt_error', async () => {
    const s = await start({ key: serverCert.keyFile, certificate: serverCert.certFile });
    proxy = await startProxy(s.address().port);
    tamper('toClient', HandshakeType.serverKeyExchange, (body) => {
      body[10]! ^= 0xff; // inside the ephemeral point
    });
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port: proxy.port },
        ecdsa: { trustAnchors: root.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ alert: AlertDescription.decryptError });
  });

  it('a CertificateVerify whose signature was altered on the way: decrypt_error from the server', async () => {
    const s = await start(mutualServer());
    proxy = await startProxy(s.address().port);
    tamper('toServer', HandshakeType.certificateVerify, (body) => {
      body[body.length - 1]! ^= 0x01;
    });
    const failure = connectDtls({
      peer: { address: '127.0.0.1', port: proxy.port },
      ecdsa: { trustAnchors: root.certFile, key: device.keyFile, certificate: device.certFile },
      timeout: 5000,
    });
    await expect(failure).rejects.toMatchObject({ description: AlertDescription.decryptError });
    await waitForNoAssociations(s);
    await expectServerStillWorks(s);
  });

  it('a client ECDH point that is not on the curve: illegal_parameter', async () => {
    const s = await start({ key: serverCert.keyFile, certificate: serverCert.certFile });
    proxy = await startProxy(s.address().port);
    tamper('toServer', HandshakeType.clientKeyExchange, (body) => {
      body[body.length - 1]! ^= 0x01; // y no longer matches x
    });
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port: proxy.port },
        ecdsa: { trustAnchors: root.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ description: AlertDescription.illegalParameter });
    await waitForNoAssociations(s);
  });

  it('a compressed client ECDH point: illegal_parameter', async () => {
    const s = await start({ key: serverCert.keyFile, certificate: serverCert.certFile });
    proxy = await startProxy(s.address().port);
    tamper('toServer', HandshakeType.clientKeyExchange, (body) => {
      body[1] = 0x02; // point format byte: compressed, which RFC 7925 rules out
    });
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port: proxy.port },
        ecdsa: { trustAnchors: root.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ description: AlertDescription.illegalParameter });
    await expectServerStillWorks(s);
  });

  it('a server certificate swapped in transit for another one: the signature check fails (decrypt_error)', async () => {
    // The attacker presents a valid certificate of someone else; it cannot sign with its key.
    const other = pki.issue('localhost', root);
    const s = await start({ key: serverCert.keyFile, certificate: serverCert.certFile });
    proxy = await startProxy(s.address().port);
    const swapped = encodeCertificateList([new X509Certificate(other.cert).raw]);
    let replaced = 0;
    proxy.filter = (d, data) => {
      if (d !== 'toClient') return true;
      // Rebuild the datagram with the Certificate record re-encoded around the other certificate.
      const records = splitRecords(data).map((bytes) => {
        const [record] = parseRecords(bytes);
        if (record === undefined || record.type !== ContentType.handshake || record.epoch !== 0) return bytes;
        const [f] = parseHandshakeFragments(record.fragment);
        if (f === undefined || f.msgType !== HandshakeType.certificate) return bytes;
        replaced++;
        return Buffer.from(
          serializeRecord(
            record.type,
            record.version,
            0,
            record.seq,
            encodeHandshake(f.msgType, f.messageSeq, swapped),
          ),
        );
      });
      return Buffer.concat(records);
    };
    await expect(
      connectDtls({
        peer: { address: '127.0.0.1', port: proxy.port },
        ecdsa: { trustAnchors: root.certFile },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ alert: AlertDescription.decryptError });
    expect(replaced).toBeGreaterThan(0);
  });
});
