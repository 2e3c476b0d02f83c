import { AppConfigError } from '../src/config-error.js';
import { portFromEnv, serverListenSettings, unreachableEntriesWarning } from '../src/server-sockets.js';

describe('listen settings from the environment', () => {
  it('reads ports: a number, 0, "off", the default when unset or empty', () => {
    expect(portFromEnv({ P: '5690' }, 'P', 5683)).toBe(5690);
    expect(portFromEnv({ P: '0' }, 'P', 5683)).toBe(0);
    expect(portFromEnv({ P: 'off' }, 'P', 5683)).toBeUndefined();
    expect(portFromEnv({}, 'P', 5683)).toBe(5683);
    expect(portFromEnv({ P: '' }, 'P', 5683)).toBe(5683);
  });

  it('refuses a bad port and both ports off with an AppConfigError naming the variable', () => {
    expect(() => portFromEnv({ P: '70000' }, 'P', 1)).toThrow(
      new AppConfigError('P must be a port number or "off", got 70000'),
    );
    expect(() => portFromEnv({ P: 'x' }, 'P', 1)).toThrow(AppConfigError);
    expect(() => serverListenSettings({ LWM2M_COAP_PORT: 'off', LWM2M_COAPS_PORT: 'off' })).toThrow(
      /both ports are off/,
    );
  });

  it('has no certificate settings without LWM2M_DTLS_KEY, and says which devices cannot connect then', () => {
    const settings = serverListenSettings({ LWM2M_COAP_PORT: '0', LWM2M_COAPS_PORT: '0' });
    expect(settings).toMatchObject({
      host: '0.0.0.0',
      coapPort: 0,
      coapsPort: 0,
      ecdsa: { options: undefined },
    });
    expect(
      unreachableEntriesWarning(
        [{ endpoint: 'a', mode: 'psk', identity: 'a', key: new Uint8Array([1]) }],
        settings,
      ),
    ).toBeUndefined();
    expect(unreachableEntriesWarning([{ endpoint: 'b', mode: 'x509' }], settings)).toMatch(/LWM2M_DTLS_KEY/);
  });
});
