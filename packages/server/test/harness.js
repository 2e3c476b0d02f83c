import { createCoapEndpoint, createMemorySocketPair } from '@lwm2m/transport-coap';
import { createServer } from '../src/server.js';
export function createManualClock(start = 1_700_000_000_000) {
    let now = start;
    let seq = 0;
    const timers = new Map();
    return {
        now: () => now,
        setTimeout(fn, delay) {
            const id = ++seq;
            timers.set(id, { at: now + Math.max(0, delay), fn });
            return id;
        },
        clearTimeout(handle) {
            timers.delete(handle);
        },
        advance(ms) {
            const end = now + ms;
            for (;;) {
                let next;
                for (const entry of timers)
                    if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at))
                        next = entry;
                if (next === undefined)
                    break;
                timers.delete(next[0]);
                now = next[1].at;
                next[1].fn();
            }
            now = end;
        },
        get pending() {
            return timers.size;
        },
    };
}
export async function createHarness(options = {}, clientHandler) {
    const [serverSocket, clientSocket] = createMemorySocketPair();
    const server = createServer({ ...options, sockets: { coap: serverSocket } });
    await server.listen();
    const client = createCoapEndpoint({ socket: clientSocket, ...(clientHandler === undefined ? {} : { handler: clientHandler }) });
    const serverPeer = serverSocket.address();
    return {
        server,
        client,
        serverPeer,
        send: (request) => client.request({ ...request, peer: serverPeer }, { timeout: 5000 }),
        async close() {
            await server.close();
            await client.close();
        },
    };
}
/** Records server events in order. */
export function recordEvents(server) {
    const events = [];
    const names = ['registered', 'updated', 'deregistered', 'expired', 'notification', 'send', 'awake', 'sleeping'];
    for (const name of names)
        server.on(name, (...args) => events.push({ name, args }));
    return events;
}
export function codeText(code) {
    return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}
/** Waits until `check` passes (or throws the last failure after `ms`). */
export async function eventually(check, ms = 2000) {
    const end = Date.now() + ms;
    for (;;) {
        try {
            await check();
            return;
        }
        catch (error) {
            if (Date.now() > end)
                throw error;
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
    }
}
//# sourceMappingURL=harness.js.map