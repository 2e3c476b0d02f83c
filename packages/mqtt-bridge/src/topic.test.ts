import { BridgeConfigError, BridgeRequestError } from './errors.js';
import {
  checkPrefix,
  decodeTopicLevel,
  encodeTopicLevel,
  endpointTopic,
  isPublishableTopic,
  parseRequestTopic,
  requestTopic,
  sensorTopic,
} from './topic.js';

function refusal(remainder: string): BridgeRequestError {
  try {
    parseRequestTopic(remainder);
  } catch (error) {
    if (error instanceof BridgeRequestError) return error;
    throw error;
  }
  throw new Error(`${remainder} was accepted`);
}

describe('parseRequestTopic', () => {
  it('reads endpoint, method and path', () => {
    expect(parseRequestTopic('dev1/GET/3/0/0')).toEqual({ endpoint: 'dev1', method: 'GET', path: [3, 0, 0] });
    expect(parseRequestTopic('dev1/DISCOVER')).toEqual({ endpoint: 'dev1', method: 'DISCOVER', path: [] });
    expect(parseRequestTopic('urn:imei:35/WRITE-ATTRIBUTES/3303/0/5700/1')).toEqual({
      endpoint: 'urn:imei:35',
      method: 'WRITE-ATTRIBUTES',
      path: [3303, 0, 5700, 1],
    });
    expect(parseRequestTopic('a%2Fb%2B%23%25/CANCEL-OBSERVE-COMPOSITE')).toMatchObject({
      endpoint: 'a/b+#%',
    });
  });

  it.each([
    ['dev1/GET/3/0/../1', 'ERR_BAD_PATH', /invalid id "\.\."/],
    ['dev1/GET/3//0', 'ERR_BAD_PATH', /empty path level/],
    ['dev1/GET/3/0/', 'ERR_BAD_PATH', /empty path level/],
    ['dev1/GET/3%2F0/0', 'ERR_BAD_PATH', /invalid id "3%2F0"/],
    ['dev1/GET/3/0/0/0/0', 'ERR_BAD_PATH', /more than 4 levels/],
    ['dev1/GET/+/0', 'ERR_BAD_PATH', /wildcard/],
    ['dev1/GET/3/#', 'ERR_BAD_PATH', /wildcard/],
    ['dev1/GET/-1', 'ERR_BAD_PATH', /invalid id "-1"/],
    ['dev1/GET/00', 'ERR_BAD_PATH', /invalid id "00"/],
    ['dev1/GET/65535', 'ERR_BAD_PATH', /out of range/],
    ['dev1/GET/3/ 0', 'ERR_BAD_PATH', /invalid id " 0"/],
    ['dev1/GET/0x3', 'ERR_BAD_PATH', /invalid id "0x3"/],
    ['dev1/GETX/3', 'ERR_UNKNOWN_METHOD', /unknown method "GETX"/],
    ['dev1/get/3', 'ERR_UNKNOWN_METHOD', /unknown method/],
    ['dev1//3', 'ERR_BAD_TOPIC', /empty method level/],
    ['dev1', 'ERR_BAD_TOPIC', /needs \{endpoint\}\/\{METHOD\}/],
    ['/GET/3', 'ERR_BAD_TOPIC', /empty endpoint level/],
    ['+/GET/3', 'ERR_BAD_TOPIC', /wildcard in endpoint level/],
    ['#/GET/3', 'ERR_BAD_TOPIC', /wildcard in endpoint level/],
    ['dev%2/GET/3', 'ERR_BAD_TOPIC', /bad escape "%2\/"|bad escape "%"/],
    ['dev%41/GET/3', 'ERR_BAD_TOPIC', /bad escape "%41"/],
    ['dev%/GET/3', 'ERR_BAD_TOPIC', /bad escape/],
  ])('refuses %s', (remainder, code, message) => {
    const error = refusal(remainder);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.status).toBe(code === 'ERR_UNKNOWN_METHOD' ? '4.05' : '4.00');
  });
});

describe('topic levels and topics', () => {
  it('encodes exactly the characters that would change the topic structure, reversibly', () => {
    expect(encodeTopicLevel('urn:imei:350000')).toBe('urn:imei:350000');
    expect(encodeTopicLevel('a/b+c#d%e')).toBe('a%2Fb%2Bc%23d%25e');
    for (const name of ['x', 'a/b', '%2F', '%%', '+#/', 'ünï/cödé', 'a\u0000b'])
      expect(decodeTopicLevel(encodeTopicLevel(name))).toBe(name);
  });

  it('builds request, sensor and event topics', () => {
    expect(requestTopic('lw', 'a/b', 'GET', [3, 0])).toBe('lw/requests/a%2Fb/GET/3/0');
    expect(requestTopic('lw', 'd', 'READ-COMPOSITE')).toBe('lw/requests/d/READ-COMPOSITE');
    expect(sensorTopic('lw/x', 'd', [3303, 0, 5700])).toBe('lw/x/d/sensor/3303/0/5700');
    expect(endpointTopic('lw', 'd+', 'presence')).toBe('lw/d%2B/presence');
  });

  it('checks prefixes', () => {
    expect(checkPrefix('a/b')).toBe('a/b');
    for (const bad of ['', 'a//b', '/a', 'a/', 'a/+', '#', '$SYS/x'])
      expect(() => checkPrefix(bad)).toThrow(BridgeConfigError);
  });

  it('tells publishable topics', () => {
    expect(isPublishableTopic('a/b/c')).toBe(true);
    expect(isPublishableTopic('')).toBe(false);
    expect(isPublishableTopic('a/+/c')).toBe(false);
    expect(isPublishableTopic('a/#')).toBe(false);
  });
});
