/**
 * moto (the Python mock of the AWS APIs, preinstalled on these machines) as a real HTTP AWS endpoint for
 * end-to-end tests, with a small proxy in front of it that covers what moto's SES gets wrong or lacks:
 *
 * - SES v2 `ListEmailIdentities`: moto does not route `POST /v2/email/list-identities` (what SDK 3.116x
 *   sends) and answers HTTP 500 to `PageSize` or a second page. The proxy answers it from moto's own v1
 *   `ListIdentities` for the signed region, paged by `PageSize`/`NextToken` like SES. moto's v1
 *   `ListIdentities` ignores `MaxItems`; the proxy pages it too, so a client's paging loop runs.
 * - DKIM tokens and statuses: moto's v2 `GetEmailIdentity` never returns `DkimAttributes.Tokens` (and
 *   says `NOT_STARTED`), and its v1 `VerifyDomainDkim` makes up random tokens (the same for every domain)
 *   and always reports `Success`. The proxy overlays the seeded tokens, statuses and verification details
 *   on v2 `GetEmailIdentity` and v1 `GetIdentityDkimAttributes` / `GetIdentityVerificationAttributes`,
 *   for identities that exist in moto (seeded through its v1 API), so a test controls what SES says.
 *
 * Everything else (DynamoDB, SNS, SQS, Route 53, STS, SES v1 listing) goes to moto untouched. The proxy
 * also records every SNS `Publish` request it forwards: SQS subscribers only ever see the `default`
 * text of a `MessageStructure: json` message, the proxy sees all of it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteIdentityCommand,
  ListIdentitiesCommand,
  SESClient,
  VerifyDomainDkimCommand,
  VerifyDomainIdentityCommand,
  VerifyEmailIdentityCommand,
} from '@aws-sdk/client-ses';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { STATE_TABLE } from '../../lambda/contract';

/** The account moto puts in every ARN. */
export const MOTO_ACCOUNT = '123456789012';

/** Fake credentials: moto checks none, the SDK needs some. */
export const FAKE_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

type V2DkimStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

/** One SES identity as the test wants SES to describe it (SES v2 names and enum strings). */
export interface SeededIdentity {
  readonly name: string;
  readonly region: string;
  /** DKIM status SES reports. */
  readonly dkimStatus: V2DkimStatus;
  /** Easy DKIM tokens (or BYODKIM selectors); empty for an email identity without DKIM of its own. */
  readonly tokens: readonly string[];
  /** @default true */
  readonly signingEnabled?: boolean;
  /** @default 'AWS_SES' */
  readonly origin?: string;
  /** @default the DKIM status */
  readonly verificationStatus?: V2DkimStatus;
  /** When SES last (re)generated the keys. @default 2025-02-11T09:14:07Z */
  readonly lastKeyGeneration?: string;
  /** v2 `VerificationInfo`, with ISO timestamps (sent as epoch seconds, as SES does). */
  readonly verificationInfo?: {
    readonly lastCheckedTimestamp?: string;
    readonly lastSuccessTimestamp?: string;
    readonly errorType?: string;
  };
}

/** What an SQS queue subscribed to a topic (raw delivery off) received: the SNS envelope. */
export interface SnsEnvelope {
  readonly Type: string;
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly MessageAttributes?: Record<string, { readonly Type: string; readonly Value: string }>;
}

/** An SNS `Publish` request as the proxy forwarded it, with moto's HTTP status. */
export interface CapturedPublish {
  readonly topicArn?: string;
  readonly subject?: string;
  readonly message?: string;
  readonly messageStructure?: string;
  readonly attributes: Record<string, { readonly dataType: string; readonly value: string }>;
  readonly status: number;
}

/** One request the proxy saw: which service (from the signature's scope) and which operation. */
export interface SeenRequest {
  readonly service: string;
  readonly region: string;
  readonly operation: string;
  readonly status: number;
}

export interface CaptureQueue {
  readonly url: string;
  readonly arn: string;
  /** Every message waiting in the queue (received and deleted), as SNS envelopes. */
  drain(): Promise<SnsEnvelope[]>;
}

export class MotoMissingError extends Error {
  override readonly name = 'MotoMissingError';
}

const MOTO_INSTALL_HINT =
  "the end-to-end tests need Python 3 with moto's server (moto 5.2.1 is preinstalled on the project's machines; elsewhere: python3 -m pip install 'moto[server]==5.2.1')";

/** Fail loudly, naming what to install, when python3 or moto's server cannot be imported. */
export function assertMotoInstalled(python = 'python3'): void {
  const probe = spawnSync(python, ['-c', 'import moto, moto.server; print(moto.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? String(probe.error.message) : (probe.stderr.trim().split('\n').pop() ?? '');
    throw new MotoMissingError(`moto is not available (${why}): ${MOTO_INSTALL_HINT}`);
  }
}

// moto's server, exiting as soon as its stdin closes: the test process dying for any reason (even
// SIGKILL, where no exit handler runs) closes the pipe, so no moto outlives its test.
const MOTO_LAUNCHER = [
  'import os, sys, threading',
  'def watch():',
  '    sys.stdin.buffer.read()',
  '    os._exit(0)',
  'threading.Thread(target=watch, daemon=True).start()',
  'from moto.server import main',
  'main(sys.argv[1:])',
].join('\n');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForMoto(child: ChildProcess, url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto exited (${child.exitCode ?? child.signalCode}) before serving:\n${output()}`);
    }
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`moto did not answer on ${url} within 20 s:\n${output()}`);
}

async function startMotoProcess(): Promise<{ child: ChildProcess; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn('python3', ['-c', MOTO_LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    // Keep the tail of moto's log (one line per request) for error messages; draining also keeps the
    // pipes from filling up and blocking moto.
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    try {
      await waitForMoto(child, url, () => tail);
      return { child, url };
    } catch (error) {
      child.kill('SIGKILL');
      // Another process took the port between freePort() and moto's bind: try another one.
      if (attempt < 3 && /Address already in use/.test(tail)) continue;
      throw error;
    }
  }
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** SES v1 spells statuses in PascalCase. */
const V1_STATUS: Record<V2DkimStatus, string> = {
  PENDING: 'Pending',
  SUCCESS: 'Success',
  FAILED: 'Failed',
  TEMPORARY_FAILURE: 'TemporaryFailure',
  NOT_STARTED: 'NotStarted',
};

const epochSeconds = (iso: string) => Date.parse(iso) / 1000;

/** The signing region and service of a SigV4 request (`Credential=AKID/date/region/service/aws4_request`). */
function credentialScope(headers: http.IncomingHttpHeaders): { region: string; service: string } {
  const match = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//.exec(String(headers.authorization ?? ''));
  return { region: match?.[1] ?? '', service: match?.[2] ?? '' };
}

const identityKey = (region: string, name: string) => `${region}#${name.toLowerCase()}`;

/** A running moto behind the SES-fixing proxy. */
export class MotoServer {
  /** Every SNS `Publish` the proxy forwarded, in order. */
  readonly publishes: CapturedPublish[] = [];
  /** Every request the proxy saw, in order. */
  readonly requests: SeenRequest[] = [];
  private readonly seeded = new Map<string, SeededIdentity>();

  private readonly proxy = http.createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`moto proxy: ${(error as Error).message}`);
    });
  });

  private constructor(
    private readonly child: ChildProcess,
    /** moto itself, without the proxy: for setting up resources. */
    readonly motoEndpoint: string,
  ) {}

  /** The proxy in front of moto: give this to the code under test (`AWS_ENDPOINT_URL`). */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.proxy.address() as net.AddressInfo).port}`;
  }

  /** Start moto (a fresh process, a few hundred ms) and the proxy. Throws {@link MotoMissingError} without moto. */
  static async start(): Promise<MotoServer> {
    assertMotoInstalled();
    const { child, url } = await startMotoProcess();
    const server = new MotoServer(child, url);
    try {
      await new Promise<void>((resolve, reject) => {
        server.proxy.once('error', reject);
        server.proxy.listen(0, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return server;
  }

  /** Stop the proxy and moto (and wait for moto to exit). */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.proxy.closeAllConnections();
      this.proxy.close(() => resolve());
    });
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  }

  private clientConfig(region: string) {
    return { region, endpoint: this.motoEndpoint, credentials: FAKE_CREDENTIALS };
  }

  /**
   * Create the identities in moto's SES (v1 `VerifyDomainIdentity` + `VerifyDomainDkim`, or
   * `VerifyEmailIdentity`) and remember how the proxy must describe them.
   */
  async seedIdentities(identities: readonly SeededIdentity[]): Promise<void> {
    for (const identity of identities) {
      const ses = new SESClient(this.clientConfig(identity.region));
      if (identity.name.includes('@')) {
        await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: identity.name }));
      } else {
        await ses.send(new VerifyDomainIdentityCommand({ Domain: identity.name }));
        await ses.send(new VerifyDomainDkimCommand({ Domain: identity.name }));
      }
      this.seeded.set(identityKey(identity.region, identity.name), identity);
    }
  }

  /** Change what SES says about a seeded identity (e.g. its DKIM status after a repair). */
  updateIdentity(region: string, name: string, change: Partial<Omit<SeededIdentity, 'name' | 'region'>>): void {
    const key = identityKey(region, name);
    const current = this.seeded.get(key);
    if (!current) throw new Error(`${name} in ${region} was never seeded`);
    this.seeded.set(key, { ...current, ...change });
  }

  /** Delete an identity from moto's SES (it disappears from every listing). */
  async deleteIdentity(region: string, name: string): Promise<void> {
    await new SESClient(this.clientConfig(region)).send(new DeleteIdentityCommand({ Identity: name }));
    this.seeded.delete(identityKey(region, name));
  }

  /** The state table, as `lib/state.ts` creates it: partition key and TTL from the contract. */
  async createStateTable(name: string, region: string): Promise<void> {
    const dynamodb = new DynamoDBClient(this.clientConfig(region));
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: STATE_TABLE.timeToLive, Enabled: true },
      }),
    );
  }

  /** Every item of a table, unmarshalled. */
  async scanTable(name: string, region: string): Promise<Record<string, unknown>[]> {
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(this.clientConfig(region)));
    const result = await documents.send(new ScanCommand({ TableName: name, ConsistentRead: true }));
    return (result.Items ?? []) as Record<string, unknown>[];
  }

  /** Create (or, for a name that exists, find) a standard topic; returns its ARN. */
  async createTopic(name: string, region: string): Promise<string> {
    const result = await new SNSClient(this.clientConfig(region)).send(new CreateTopicCommand({ Name: name }));
    if (!result.TopicArn) throw new Error(`moto created topic ${name} without an ARN`);
    return result.TopicArn;
  }

  async deleteTopic(arn: string, region: string): Promise<void> {
    await new SNSClient(this.clientConfig(region)).send(new DeleteTopicCommand({ TopicArn: arn }));
  }

  /** An SQS queue subscribed to the topic with raw message delivery off: it receives SNS envelopes. */
  async subscribeQueue(topicArn: string, queueName: string, region: string): Promise<CaptureQueue> {
    const { QueueUrl: url } = (await this.sqs(region, 'CreateQueue', { QueueName: queueName })) as {
      QueueUrl: string;
    };
    const { Attributes } = (await this.sqs(region, 'GetQueueAttributes', {
      QueueUrl: url,
      AttributeNames: ['QueueArn'],
    })) as { Attributes: { QueueArn: string } };
    await new SNSClient(this.clientConfig(region)).send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes.QueueArn,
        Attributes: { RawMessageDelivery: 'false' },
      }),
    );
    const drain = async (): Promise<SnsEnvelope[]> => {
      const envelopes: SnsEnvelope[] = [];
      for (;;) {
        const { Messages = [] } = (await this.sqs(region, 'ReceiveMessage', {
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        })) as { Messages?: { Body: string; ReceiptHandle: string }[] };
        if (Messages.length === 0) return envelopes;
        for (const message of Messages) {
          envelopes.push(JSON.parse(message.Body) as SnsEnvelope);
          await this.sqs(region, 'DeleteMessage', { QueueUrl: url, ReceiptHandle: message.ReceiptHandle });
        }
      }
    };
    return { url, arn: Attributes.QueueArn, drain };
  }

  /** SQS's JSON protocol by hand (no SQS client in the project's dependencies); moto checks no signature. */
  private async sqs(region: string, operation: string, body: Record<string, unknown>): Promise<unknown> {
    const response = await fetch(`${this.motoEndpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `AmazonSQS.${operation}`,
        authorization: `AWS4-HMAC-SHA256 Credential=${FAKE_CREDENTIALS.accessKeyId}/20260101/${region}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`SQS ${operation} answered ${response.status}: ${text}`);
    return JSON.parse(text);
  }

  // ---- the proxy ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const { region, service } = credentialScope(req.headers);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const form = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')
      ? new URLSearchParams(body.toString())
      : undefined;
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation =
      form?.get('Action') ?? (target ? target.slice(target.indexOf('.') + 1) : `${req.method} ${url.pathname}`);
    const reply = (status: number, contentType: string, text: string) => {
      this.requests.push({ service, region, operation, status });
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };

    if (service === 'ses' && url.pathname === '/v2/email/list-identities') {
      return reply(200, 'application/json', await this.listEmailIdentities(region, url, body));
    }
    if (service === 'ses' && req.method === 'GET' && url.pathname === '/v2/email/identities') {
      return reply(200, 'application/json', await this.listEmailIdentities(region, url, body));
    }

    if (service === 'sns' && operation === 'Publish' && !form) {
      // The capture reads the Query protocol the SDK uses today; a silent miss would pass "nothing published".
      throw new Error('SNS Publish arrived in a protocol the harness does not read: extend capturePublish');
    }
    if (service === 'ses' && operation === 'ListIdentities' && form) {
      return reply(200, 'text/xml', await this.listIdentities(req, form));
    }
    const upstream = await this.forward(req, body);
    let text = upstream.body;
    if (service === 'ses' && upstream.status === 200) {
      const v2Get = /^\/v2\/email\/identities\/([^/]+)$/.exec(url.pathname);
      if (v2Get && req.method === 'GET') text = this.overlayV2(region, decodeURIComponent(v2Get[1] ?? ''), text);
      else if (operation === 'GetIdentityDkimAttributes') text = this.overlayV1Dkim(region, text);
      else if (operation === 'GetIdentityVerificationAttributes') text = this.overlayV1Verification(region, text);
    }
    if (service === 'sns' && operation === 'Publish' && form) this.capturePublish(form, upstream.status);
    reply(upstream.status, upstream.contentType, text);
  }

  private forward(
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; contentType: string; body: string }> {
    const target = new URL(this.motoEndpoint);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (d: Buffer) => parts.push(d));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              contentType: String(response.headers['content-type'] ?? 'text/plain'),
              body: Buffer.concat(parts).toString(),
            }),
          );
          response.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  /**
   * v1 `ListIdentities` paged by `MaxItems`/`NextToken` as SES does (moto ignores both and returns
   * everything at once); the full list, with any `IdentityType` filter, comes from moto.
   */
  private async listIdentities(req: http.IncomingMessage, form: URLSearchParams): Promise<string> {
    const all = new URLSearchParams(form);
    all.delete('MaxItems');
    all.delete('NextToken');
    const upstream = await this.forward(req, Buffer.from(all.toString()));
    if (upstream.status !== 200) throw new Error(`moto ListIdentities answered ${upstream.status}: ${upstream.body}`);
    const names = [...upstream.body.matchAll(/<member>([^<]*)<\/member>/g)].map((m) => m[1] ?? '');
    const pageSize = Number(form.get('MaxItems') ?? 1000);
    const offset = form.get('NextToken') ? Number(Buffer.from(form.get('NextToken') ?? '', 'base64').toString()) : 0;
    const page = names.slice(offset, offset + pageSize);
    const next =
      offset + pageSize < names.length
        ? `<NextToken>${Buffer.from(String(offset + pageSize)).toString('base64')}</NextToken>`
        : '';
    return [
      '<ListIdentitiesResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><ListIdentitiesResult>',
      `<Identities>${page.map((n) => `<member>${n}</member>`).join('')}</Identities>${next}`,
      '</ListIdentitiesResult><ResponseMetadata><RequestId>moto-proxy</RequestId></ResponseMetadata>',
      '</ListIdentitiesResponse>',
    ].join('');
  }

  /** v2 `ListEmailIdentities` from moto's v1 list, paged by `PageSize` (offset in `NextToken`). */
  private async listEmailIdentities(region: string, url: URL, body: Buffer): Promise<string> {
    const json = body.length > 0 ? (JSON.parse(body.toString()) as { PageSize?: number; NextToken?: string }) : {};
    const pageSize = Number(url.searchParams.get('PageSize') ?? json.PageSize ?? 100);
    const nextToken = url.searchParams.get('NextToken') ?? json.NextToken;
    const offset = nextToken ? Number(Buffer.from(nextToken, 'base64').toString()) : 0;
    const { Identities = [] } = await new SESClient(this.clientConfig(region)).send(new ListIdentitiesCommand({}));
    const page = Identities.slice(offset, offset + pageSize);
    const more = offset + pageSize < Identities.length;
    return JSON.stringify({
      EmailIdentities: page.map((name) => {
        const seeded = this.seeded.get(identityKey(region, name));
        return {
          IdentityName: name,
          IdentityType: name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
          SendingEnabled: true,
          VerificationStatus: seeded?.verificationStatus ?? seeded?.dkimStatus ?? 'SUCCESS',
        };
      }),
      ...(more ? { NextToken: Buffer.from(String(offset + pageSize)).toString('base64') } : {}),
    });
  }

  private overlayV2(region: string, name: string, text: string): string {
    const seeded = this.seeded.get(identityKey(region, name));
    if (!seeded) return text;
    const identity = JSON.parse(text) as Record<string, unknown>;
    const verification = seeded.verificationStatus ?? seeded.dkimStatus;
    const info = seeded.verificationInfo;
    return JSON.stringify({
      ...identity,
      VerificationStatus: verification,
      VerifiedForSendingStatus: verification === 'SUCCESS' || verification === 'TEMPORARY_FAILURE',
      DkimAttributes: {
        SigningEnabled: seeded.signingEnabled ?? true,
        Status: seeded.dkimStatus,
        Tokens: seeded.tokens,
        SigningAttributesOrigin: seeded.origin ?? 'AWS_SES',
        CurrentSigningKeyLength: 'RSA_2048_BIT',
        NextSigningKeyLength: 'RSA_2048_BIT',
        LastKeyGenerationTimestamp: epochSeconds(seeded.lastKeyGeneration ?? '2025-02-11T09:14:07Z'),
        ...((seeded.origin ?? 'AWS_SES') === 'AWS_SES' ? { SigningHostedZone: 'dkim.amazonses.com.' } : {}),
      },
      ...(info
        ? {
            VerificationInfo: {
              ...(info.lastCheckedTimestamp ? { LastCheckedTimestamp: epochSeconds(info.lastCheckedTimestamp) } : {}),
              ...(info.lastSuccessTimestamp ? { LastSuccessTimestamp: epochSeconds(info.lastSuccessTimestamp) } : {}),
              ...(info.errorType ? { ErrorType: info.errorType } : {}),
            },
          }
        : {}),
    });
  }

  /** Rewrite the `<entry>` of each seeded identity in a v1 attributes map. */
  private overlayV1Entries(region: string, text: string, value: (seeded: SeededIdentity) => string): string {
    return text.replace(/<entry><key>([^<]*)<\/key><value>[\s\S]*?<\/value><\/entry>/g, (entry, key: string) => {
      const name = key.replace(/&amp;/g, '&');
      const seeded = this.seeded.get(identityKey(region, name));
      return seeded ? `<entry><key>${key}</key><value>${value(seeded)}</value></entry>` : entry;
    });
  }

  private overlayV1Dkim(region: string, text: string): string {
    return this.overlayV1Entries(region, text, (seeded) => {
      const tokens = seeded.tokens.map((t) => `<member>${xmlEscape(t)}</member>`).join('');
      return [
        `<DkimEnabled>${seeded.signingEnabled ?? true}</DkimEnabled>`,
        `<DkimVerificationStatus>${V1_STATUS[seeded.dkimStatus]}</DkimVerificationStatus>`,
        tokens ? `<DkimTokens>${tokens}</DkimTokens>` : '',
      ].join('');
    });
  }

  private overlayV1Verification(region: string, text: string): string {
    return this.overlayV1Entries(
      region,
      text,
      (seeded) =>
        `<VerificationStatus>${V1_STATUS[seeded.verificationStatus ?? seeded.dkimStatus]}</VerificationStatus>`,
    );
  }

  private capturePublish(form: URLSearchParams, status: number): void {
    const attributes: Record<string, { dataType: string; value: string }> = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      const prefix = `MessageAttributes.entry.${i}`;
      attributes[form.get(`${prefix}.Name`) ?? ''] = {
        dataType: form.get(`${prefix}.Value.DataType`) ?? '',
        value: form.get(`${prefix}.Value.StringValue`) ?? '',
      };
    }
    this.publishes.push({
      topicArn: form.get('TopicArn') ?? undefined,
      subject: form.get('Subject') ?? undefined,
      message: form.get('Message') ?? undefined,
      messageStructure: form.get('MessageStructure') ?? undefined,
      attributes,
      status,
    });
  }
}
