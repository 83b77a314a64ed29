/**
 * End to end: the bundled scanner (the asset `cdk synth` ships) in its own Node process, talking HTTP to
 * moto (DynamoDB, SNS with an SQS queue capturing what was published, SES identities, Route 53) and DNS
 * to the demo's in-process world on 127.0.53.x.
 *
 * The handler offers no setting for the port it asks authoritative servers on (the CLI has
 * `--authoritative-port`), so the demo world listens on port 53 of its loopback addresses: this needs
 * root (or CAP_NET_BIND_SERVICE), which the project's machines and CI have.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SUBNET, DEMO_TOKENS, type DemoWorld, startDemoWorld } from '../../bin/demo/demo-world';
import { ScannerEnv, STATE_TABLE } from '../../lambda/contract';
import { bundleScanner, logLines, type ScannerBundle, ScannerEnvironment } from '../support/bundled-handler';
import { FAKE_CREDENTIALS, MOTO_ACCOUNT, MotoServer, type SnsEnvelope } from '../support/moto';

const REGION = 'eu-west-1';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${MOTO_ACCOUNT}:function:e2e-scanner`;
const SCHEDULED = { source: 'ses-dkim-sentinel.schedule' };
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();

let moto: MotoServer;
let world: DemoWorld;
let bundle: ScannerBundle;
const environments: ScannerEnvironment[] = [];

async function startWorldOnPort53(): Promise<DemoWorld> {
  try {
    return await startDemoWorld(53);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `the e2e DNS world needs port 53 on ${DEMO_SUBNET}.x (the handler asks authoritative servers on port 53 only): ${code === 'EACCES' ? 'run as root or grant CAP_NET_BIND_SERVICE' : code === 'EADDRINUSE' ? 'another e2e run (or a DNS server) holds it' : String(error)}`,
    );
  }
}

beforeAll(async () => {
  [moto, world] = await Promise.all([MotoServer.start(), startWorldOnPort53()]);
  bundle = bundleScanner(MOTO_ACCOUNT, REGION);
  await moto.seedIdentities([
    { name: 'healthy.example', region: REGION, dkimStatus: 'SUCCESS', tokens: DEMO_TOKENS.healthy },
    {
      name: 'typo.example',
      region: REGION,
      dkimStatus: 'TEMPORARY_FAILURE',
      tokens: DEMO_TOKENS.typo,
      verificationInfo: {
        lastCheckedTimestamp: hoursAgo(1),
        lastSuccessTimestamp: hoursAgo(20),
        errorType: 'INVALID_VALUE',
      },
    },
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(environments.map((e) => e.stop()));
  await Promise.all([moto?.stop(), world?.stop()]);
  bundle?.remove();
});

/** One deployment's resources in moto (its own table, topic and capture queue) and a scanner for it. */
async function deploy(name: string) {
  const table = `${name}-state`;
  await moto.createStateTable(table, REGION);
  const topicArn = await moto.createTopic(`${name}-alerts`, REGION);
  const queue = await moto.subscribeQueue(topicArn, `${name}-capture`, REGION);
  const env = {
    ...bundle.environment,
    [ScannerEnv.Resolvers]: world.resolvers.map((r) => `${r.address}:${r.port}`).join(','),
    [ScannerEnv.AlertTopicArn]: topicArn,
    [ScannerEnv.StateTable]: table,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    // Nothing from this machine's AWS configuration may leak in.
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const start = () => {
    const environment = new ScannerEnvironment(bundle, env, FUNCTION_ARN);
    environments.push(environment);
    return environment;
  };
  return { table, topicArn, queue, start, published: () => moto.publishes.filter((p) => p.topicArn === topicArn) };
}

/** The identity states (the run's lease and the cached SES attributes carry an item type and are left out). */
const stateItems = async (table: string) =>
  (await moto.scanTable(table, REGION)).filter((item) => item[STATE_TABLE.itemType] === undefined);
const bookkeeping = async (table: string) =>
  (await moto.scanTable(table, REGION)).filter((item) => item[STATE_TABLE.itemType] !== undefined);

const parseMessage = (message: string | undefined) =>
  JSON.parse(message ?? 'null') as { default: string; email: string; https: string };
const attribute = (envelope: SnsEnvelope | undefined, name: string) => envelope?.MessageAttributes?.[name];
const sesRequests = () => moto.requests.filter((r) => r.service === 'ses');

describe('the bundled scanner against moto', () => {
  it('alerts once on a mistyped record and leaves a healthy identity alone', async () => {
    const { table, topicArn, queue, start, published } = await deploy('mistyped');
    const sesBefore = sesRequests().length;

    const scanner = start();
    const first = await scanner.invoke(SCHEDULED, 'run-1');
    expect(first, scanner.output).toEqual({
      ok: true,
      result: { identities: 2, needingAttention: 1, notReached: 0, skipped: false },
    });
    // The run's summary log line, with the invocation's context (as the stack's log level lets through).
    expect(logLines(scanner.output).find((l) => l.message === 'run complete')).toMatchObject({
      level: 'INFO',
      service: 'ses-dkim-sentinel',
      cold_start: true,
      function_request_id: 'run-1',
      identities: 2,
      needingAttention: 1,
      discoveryErrors: 0,
      notificationsDelivered: 1,
    });
    // Discovery went through the harness's SES (v1 or v2, whichever the product uses) and nothing failed.
    const ses = sesRequests().slice(sesBefore);
    expect(ses.length).toBeGreaterThan(0);
    expect(ses.filter((r) => r.status !== 200)).toEqual([]);

    const envelopes = await queue.drain();
    expect(envelopes).toHaveLength(1);
    const envelope = envelopes[0];
    expect(envelope?.Type).toBe('Notification');
    expect(envelope?.TopicArn).toBe(topicArn);
    expect(envelope?.Subject).toMatch(/^DKIM DETECTED: typo\.example \(eu-west-1\), \d+h left$/);
    expect(attribute(envelope, 'identity')).toEqual({ Type: 'String', Value: 'typo.example' });
    expect(attribute(envelope, 'region')).toEqual({ Type: 'String', Value: REGION });
    expect(attribute(envelope, 'account')).toEqual({ Type: 'String', Value: MOTO_ACCOUNT });
    expect(attribute(envelope, 'stage')).toEqual({ Type: 'String', Value: 'DETECTED' });
    expect(attribute(envelope, 'severity')).toEqual({ Type: 'String', Value: 'critical' });
    expect(attribute(envelope, 'health')).toEqual({ Type: 'String', Value: 'FAILING' });
    expect(attribute(envelope, 'incident')?.Type).toBe('String');
    expect(attribute(envelope, 'incident')?.Value).toMatch(/^dkim-[0-9a-f]{8}$/);

    // The Publish itself: one JSON message with a variant per protocol; the queue got the default one.
    const publishes = published();
    expect(publishes).toHaveLength(1);
    expect(publishes[0]?.messageStructure).toBe('json');
    const message = parseMessage(publishes[0]?.message);
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'https']);
    expect(envelope?.Message).toBe(message.default);
    expect(message.email).toBe(message.default);
    expect(message.default).toContain('RECORD_MISMATCH');
    const mistyped = DEMO_TOKENS.typo[2];
    expect(message.default).toContain(
      `publish  ${mistyped}._domainkey.typo.example  CNAME  ${mistyped}.dkim.amazonses.com`,
    );
    const chatbot = JSON.parse(message.https) as {
      version: string;
      source: string;
      content: { textType: string; title: string; description: string; nextSteps: string[] };
      metadata: { threadId: string; relatedResources: string[] };
    };
    expect(chatbot).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: envelope?.Subject },
      metadata: { threadId: `dkim-${MOTO_ACCOUNT}-eu-west-1-typo.example`, relatedResources: ['typo.example'] },
    });
    expect(chatbot.content.nextSteps).toContain(
      `Publish \`${mistyped}._domainkey.typo.example CNAME ${mistyped}.dkim.amazonses.com\``,
    );

    // State: the open incident, its notification acknowledged; nothing stored for the healthy identity.
    const items = await stateItems(table);
    const firstVersion = items[0]?.version;
    expect(items.map((i) => i[STATE_TABLE.partitionKey])).toEqual([`${REGION}#typo.example`]);
    // The SES v2 attributes read this run are cached (the failing identity is re-read each run anyway).
    expect((await bookkeeping(table)).map((i) => i[STATE_TABLE.partitionKey]).sort()).toEqual(
      [`attributes#${REGION}#healthy.example`, `attributes#${REGION}#typo.example`].sort(),
    );
    expect(items[0]).toMatchObject({
      identity: 'typo.example',
      region: REGION,
      phase: 'COUNTDOWN',
      health: 'FAILING',
      lastRunId: 'run-1',
      lastNotified: { stage: 'DETECTED' },
      pending: [],
    });
    expect(typeof items[0]?.[STATE_TABLE.timeToLive]).toBe('number');

    // The next scheduled run, in a fresh execution environment (a cold start: all it knows is the table).
    const later = start();
    const second = await later.invoke(SCHEDULED, 'run-2');
    expect(second, later.output).toEqual({
      ok: true,
      result: { identities: 2, needingAttention: 1, notReached: 0, skipped: false },
    });
    expect(await queue.drain()).toEqual([]);
    expect(published()).toHaveLength(1);
    // Nothing changed, so nothing was written: the item is the one the first run left.
    expect(await stateItems(table)).toMatchObject([{ lastRunId: 'run-1', version: firstVersion, pending: [] }]);
  });

  it('sends one TEST notification for {"test": true} and touches no state', async () => {
    const { table, topicArn, queue, start, published } = await deploy('test-alert');
    const scanner = start();

    const outcome = await scanner.invoke({ test: true }, 'test-1');
    expect(outcome, scanner.output).toEqual({
      ok: true,
      result: { test: true, allDelivered: true, channels: [{ channel: 'sns', delivered: true }] },
    });
    const envelopes = await queue.drain();
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0]?.TopicArn).toBe(topicArn);
    expect(envelopes[0]?.Subject).toBe(`DKIM TEST: ses-dkim-sentinel alert path works (${MOTO_ACCOUNT})`);
    for (const name of ['identity', 'region', 'stage', 'health', 'incident']) {
      expect(attribute(envelopes[0], name)).toEqual({ Type: 'String', Value: 'TEST' });
    }
    expect(attribute(envelopes[0], 'severity')).toEqual({ Type: 'String', Value: 'info' });
    const message = parseMessage(published()[0]?.message);
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'https']);
    expect(message.default).toContain('TEST notification from ses-dkim-sentinel');
    expect(JSON.parse(message.https)).toMatchObject({ version: '1.0', source: 'custom' });
    expect(await stateItems(table)).toEqual([]);
  });

  it('throws while SNS refuses the alert, keeps it pending, and delivers it once when the topic is back', async () => {
    const { table, topicArn, queue, start, published } = await deploy('outage');
    await moto.deleteTopic(topicArn, REGION);
    const scanner = start();

    const failed = await scanner.invoke(SCHEDULED, 'outage-1');
    expect(failed.ok, scanner.output).toBe(false);
    if (failed.ok) return;
    // A thrown error is what makes Lambda count an error (the Errors alarm) and retry.
    expect(failed.error.name).toBe('AlertDeliveryError');
    expect(failed.error.message).toMatch(/^1 alert delivery or state failure\(s\): channel sns: /);
    // The shipped source map and NODE_OPTIONS make the stack name the TypeScript source, not index.js:1.
    expect(failed.error.stack).toMatch(/lambda\/run-scan\.ts:\d+/);
    expect(published().map((p) => p.status)).toEqual([404]);
    const [kept] = await stateItems(table);
    expect(kept).toMatchObject({ key: `${REGION}#typo.example`, lastNotified: { stage: 'DETECTED' } });
    const pending = kept?.pending as { stage: string; claimedBy?: string; deliveredTo?: string[] }[];
    expect(pending).toHaveLength(1);
    expect(pending[0]?.stage).toBe('DETECTED');
    // Released, not left claimed by the failed run: the next run may send it at once.
    expect(pending[0]?.claimedBy).toBeUndefined();
    expect(pending[0]?.deliveredTo ?? []).toEqual([]);

    // The topic is back (same name, same ARN) with the capture queue subscribed again.
    expect(await moto.createTopic('outage-alerts', REGION)).toBe(topicArn);
    await moto.subscribeQueue(topicArn, 'outage-capture', REGION);

    const recovered = await scanner.invoke(SCHEDULED, 'outage-2');
    expect(recovered, scanner.output).toEqual({
      ok: true,
      result: { identities: 2, needingAttention: 1, notReached: 0, skipped: false },
    });
    const envelopes = await queue.drain();
    expect(envelopes.map((e) => e.Subject)).toEqual([expect.stringMatching(/^DKIM DETECTED: typo\.example /)]);
    expect(await stateItems(table)).toMatchObject([{ pending: [], lastRunId: 'outage-2' }]);

    const quiet = await scanner.invoke(SCHEDULED, 'outage-3');
    expect(quiet.ok, scanner.output).toBe(true);
    expect(await queue.drain()).toEqual([]);
    expect(published().filter((p) => p.status === 200)).toHaveLength(1);
  });
});
