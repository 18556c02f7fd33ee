import { inspect } from 'node:util';
import { DEFAULT_PROXY_SETTINGS } from '../../src/config/proxy-settings.js';
import { loadSettings, misspeltSettingVariables, redactSettings, SETTINGS_DEFAULTS } from '../../src/config/settings.js';
import { configErrorOf } from './config-test-kit.js';

const TOKEN = 'admin-token-0123456789abcdef';
const API_KEY = 'api-key-Zq9Zq9Zq9';
const REDIS_PASSWORD = 'r3dis-Pa55word';

describe('service settings from the environment', () => {
  it('when nothing is set, then the defaults apply and optional settings are absent', () => {
    const settings = loadSettings({});
    expect({ ...settings }).toEqual(SETTINGS_DEFAULTS);
    expect(SETTINGS_DEFAULTS).toEqual({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      role: 'all',
      redisPrefix: 'nodesentry',
      probeConcurrency: 64,
      perHostConcurrency: 8,
      maxResponseBytes: 4 * 1024 * 1024,
      chainMinHealthy: 1,
      protectProbes: false,
      maxConnections: 1000,
      maxEventStreams: 100,
      headersTimeoutMs: 10_000,
      maxBackoffMs: 3_000,
      fastIntervalMs: 100,
      readyWaitMs: 15_000,
      rpc: DEFAULT_PROXY_SETTINGS,
      logFormat: 'auto',
      accessLog: true,
      accessLogProbes: 0,
    });
    expect(Object.isFrozen(SETTINGS_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('when every variable is set, then each is read', () => {
    const settings = loadSettings({
      NODESENTRY_CONFIG: './nodes.yaml',
      REDIS_URL: `redis://default:${REDIS_PASSWORD}@redis:6379/2`,
      PORT: '9000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'DEBUG',
      NODESENTRY_ROLE: 'api',
      NODESENTRY_REDIS_PREFIX: 'ns:prod',
      NODESENTRY_CONCURRENCY: '128',
      NODESENTRY_PER_HOST_CONCURRENCY: '4',
      NODESENTRY_ADMIN_TOKEN: TOKEN,
      NODESENTRY_API_KEY: API_KEY,
      NODESENTRY_MAX_RESPONSE_BYTES: '1048576',
      NODESENTRY_AGENT_PORT: '9100',
      NODESENTRY_CHAIN_MIN_HEALTHY: '2',
      NODESENTRY_PROTECT_PROBES: 'TRUE',
      NODESENTRY_MAX_CONNECTIONS: '500',
      NODESENTRY_MAX_EVENT_STREAMS: '7',
      NODESENTRY_HEADERS_TIMEOUT_MS: '3000',
      NODESENTRY_MAX_BACKOFF_MS: '0',
      NODESENTRY_FAST_INTERVAL_MS: '500',
      NODESENTRY_READY_WAIT_MS: '0',
      LOG_FORMAT: 'json',
      NODESENTRY_ACCESS_LOG: 'off',
      NODESENTRY_ACCESS_LOG_PROBES: '0.25',
    });
    expect({ ...settings }).toEqual({
      configPath: './nodes.yaml',
      redisUrl: `redis://default:${REDIS_PASSWORD}@redis:6379/2`,
      port: 9000,
      host: '127.0.0.1',
      logLevel: 'debug',
      role: 'api',
      redisPrefix: 'ns:prod',
      probeConcurrency: 128,
      perHostConcurrency: 4,
      adminToken: TOKEN,
      apiKey: API_KEY,
      maxResponseBytes: 1_048_576,
      agentPort: 9100,
      chainMinHealthy: 2,
      protectProbes: true,
      maxConnections: 500,
      maxEventStreams: 7,
      headersTimeoutMs: 3000,
      maxBackoffMs: 0,
      fastIntervalMs: 500,
      readyWaitMs: 0,
      rpc: SETTINGS_DEFAULTS.rpc,
      logFormat: 'json',
      accessLog: false,
      accessLogProbes: 0.25,
    });
  });

  it('when variables are set but empty, then they count as unset', () => {
    expect({ ...loadSettings({ PORT: '', REDIS_URL: '', NODESENTRY_ADMIN_TOKEN: ' ', LOG_LEVEL: '' }) }).toEqual(SETTINGS_DEFAULTS);
  });

  it.each([
    ['PORT', 'http', /^must be a whole number between 0 and 65535 \(got "http"\)$/],
    ['PORT', '70000', /^must be between 0 and 65535/],
    ['PORT', '-1', /^must be a whole number/],
    ['HOST', 'my host', /^must be a host name or an IP address$/],
    ['LOG_LEVEL', 'verbose', /^must be one of fatal, error, warn, info, debug, trace, silent \(got "verbose"\)$/],
    ['NODESENTRY_ROLE', 'both', /^must be one of api, worker, all/],
    ['LOG_FORMAT', 'text', /^must be one of auto, json, pretty \(got "text"\)$/],
    ['NODESENTRY_ACCESS_LOG_PROBES', '2', /^must be a fraction between 0 and 1/],
    ['NODESENTRY_ACCESS_LOG_PROBES', '10%', /^must be a fraction between 0 and 1/],
    ['NODESENTRY_REDIS_PREFIX', 'has space', /^use 1-100 characters/],
    ['NODESENTRY_CONCURRENCY', '0', /^must be between 1 and 10000/],
    ['NODESENTRY_PER_HOST_CONCURRENCY', '1.5', /^must be a whole number/],
    ['NODESENTRY_MAX_RESPONSE_BYTES', '4MiB', /^must be a whole number between 1024 and 1073741824/],
    ['NODESENTRY_MAX_BACKOFF_MS', '3s', /^must be a whole number between 0 and 3600000/],
    ['NODESENTRY_FAST_INTERVAL_MS', '5', /^must be between 10 and 60000/],
    ['NODESENTRY_MAX_RESPONSE_BYTES', '12', /^must be between 1024/],
    ['NODESENTRY_AGENT_PORT', '8080', /^must differ from PORT \(8080\)$/],
    ['NODESENTRY_AGENT_PORT', 'x', /^must be a whole number/],
    ['NODESENTRY_ADMIN_TOKEN', 'short-Secret1', /^must be at least 16 characters when set$/],
    ['NODESENTRY_CHAIN_MIN_HEALTHY', '0', /^must be between 1 and 10000 \(got "0"\)$/],
    ['NODESENTRY_PROTECT_PROBES', 'maybe', /^must be true or false \(got "maybe"\)$/],
    ['NODESENTRY_PROTECT_PROBES', 'true', /^needs NODESENTRY_API_KEY/],
    ['REDIS_URL', `http://u:${REDIS_PASSWORD}@redis:6379`, /^unsupported scheme "http" \(expected redis or rediss\)$/],
    ['REDIS_URL', `redis://u:${REDIS_PASSWORD}@redis:port`, /^not a valid URL/],
    ['REDIS_SENTINEL_NAME', 'mymaster', /^needs REDIS_SENTINELS \(the sentinels to ask\)$/],
    ['REDIS_CLUSTER_NODES', 'redis-1:6379,redis-2', /^must be a comma-separated list of host:port$/],
    ['REDIS_CLUSTER_NODES', 'redis-1:99999', /^must be a comma-separated list of host:port$/],
  ])('when %s is %j, then the error names the variable', async (variable, value, reason) => {
    const err = await configErrorOf(() => loadSettings({ [variable]: value }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.file).toBe('environment');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe(variable);
    expect(err.issues[0]!.message).toMatch(reason);
    expect(err.message).toBe(`environment: ${variable}: ${err.issues[0]!.message}`);
  });

  it('when Redis is behind Sentinel or a Cluster, then the hosts are read and the password never shown', async () => {
    const sentinel = loadSettings({ REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'mymaster', REDIS_PASSWORD: REDIS_PASSWORD, NODESENTRY_ROLE: 'api' });
    expect(sentinel.redisSentinels).toEqual([{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }]);
    expect(sentinel.redisSentinelName).toBe('mymaster');
    expect(JSON.stringify(sentinel)).not.toContain(REDIS_PASSWORD);
    expect(loadSettings({ REDIS_CLUSTER_NODES: 'c1:7000,c2:7001' }).redisClusterNodes).toEqual([{ host: 'c1', port: 7000 }, { host: 'c2', port: 7001 }]);
    const both = await configErrorOf(() => loadSettings({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'c1:7000' }));
    expect(both.issues.map((i) => i.path)).toEqual(['REDIS_URL']);
    const noName = await configErrorOf(() => loadSettings({ REDIS_SENTINELS: 's1:26379' }));
    expect(noName.issues.map((i) => i.path)).toEqual(['REDIS_SENTINEL_NAME']);
    const pwWithUrl = await configErrorOf(() => loadSettings({ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: REDIS_PASSWORD }));
    expect(pwWithUrl.message).not.toContain(REDIS_PASSWORD);
  });

  it('when the role is api without Redis, then it is refused: the in-process store serves one process only', async () => {
    const err = await configErrorOf(() => loadSettings({ NODESENTRY_ROLE: 'api' }));
    expect(err.issues.map((i) => i.path)).toEqual(['NODESENTRY_ROLE']);
    expect(loadSettings({ NODESENTRY_ROLE: 'worker' }).role).toBe('worker');
  });

  it('when probe protection is switched with the usual words, then each is read', () => {
    for (const [text, value] of [['yes', true], ['1', true], ['on', true], ['no', false], ['0', false], ['Off', false]] as const) {
      expect(loadSettings({ NODESENTRY_PROTECT_PROBES: text, NODESENTRY_API_KEY: API_KEY }).protectProbes).toBe(value);
    }
  });

  it('when several variables are bad, then all are listed', async () => {
    const err = await configErrorOf(() => loadSettings({ PORT: 'x', LOG_LEVEL: 'loud', NODESENTRY_CONCURRENCY: '-3' }));
    expect(err.issues.map((i) => i.path)).toEqual(['PORT', 'LOG_LEVEL', 'NODESENTRY_CONCURRENCY']);
    expect(err.message.split('\n')).toHaveLength(3);
  });

  it('when secrets are bad, then their values are not in the error', async () => {
    const err = await configErrorOf(() => loadSettings({
      NODESENTRY_ADMIN_TOKEN: 'tooShortSecret',
      REDIS_URL: `redis://user:${REDIS_PASSWORD}@host:notaport`,
    }));
    const shown = [err.message, err.shortMessage, err.stack, JSON.stringify(err.issues), inspect(err)].join('\n');
    expect(shown).not.toContain('tooShortSecret');
    expect(shown).not.toContain(REDIS_PASSWORD);
  });

  it('when settings are logged, then secrets are redacted and the Redis host is kept', () => {
    const settings = loadSettings({ REDIS_URL: `redis://default:${REDIS_PASSWORD}@redis:6379/2`, NODESENTRY_ADMIN_TOKEN: TOKEN, NODESENTRY_API_KEY: API_KEY });
    const redacted = redactSettings(settings);
    expect(redacted).toMatchObject({ redisUrl: 'redis://default:***@redis:6379/2', adminToken: '[redacted]', apiKey: '[redacted]', port: 8080 });
    for (const shown of [JSON.stringify(redacted), JSON.stringify(settings), inspect(settings), inspect({ settings }, { depth: 5 }), `${JSON.stringify({ settings })}`]) {
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(API_KEY);
      expect(shown).not.toContain(REDIS_PASSWORD);
      expect(shown).toContain('redis:6379');
    }
    // The secrets themselves stay available to the code that needs them.
    expect(settings.adminToken).toBe(TOKEN);
    expect(settings.redisUrl).toContain(REDIS_PASSWORD);
  });

  it('when a NODESENTRY_ variable is misspelt, then it is found with the name meant; other variables are left alone', () => {
    expect(misspeltSettingVariables({
      NODESENTRY_CONCURENCY: '8',
      NODESENTRY_ROLES: 'api',
      REDIS_URI: 'redis://h',
      NODESENTRY_BSC1_PASSWORD: 'x',
      NODESENTRY_CONCURRENCY: '8',
      PATH: '/bin',
    })).toEqual([
      { variable: 'NODESENTRY_CONCURENCY', meant: 'NODESENTRY_CONCURRENCY' },
      { variable: 'NODESENTRY_ROLES', meant: 'NODESENTRY_ROLE' },
      { variable: 'REDIS_URI', meant: 'REDIS_URL' },
    ]);
  });
});
