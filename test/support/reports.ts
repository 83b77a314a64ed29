import type { Health, IdentityReport } from '../../lambda/domain/assess-identity';
import type { Finding } from '../../lambda/domain/findings';
import type { IdentityState } from '../../lambda/domain/lifecycle';
import type { RenderedAlert } from '../../lambda/domain/render-alert';
import type { AlertChannel, StateStore } from '../../lambda/ports';

/** What one run sees of one identity, in the terms a timeline speaks. */
export interface Sight {
  readonly ses: 'SUCCESS' | 'PENDING' | 'TEMPORARY_FAILURE' | 'FAILED';
  /** ok: every record verified; stale: one server serves an old record; typo: one record wrong everywhere. */
  readonly dns: 'ok' | 'stale' | 'typo' | 'missing' | 'timeout' | 'stale+timeout';
  readonly lastSuccess?: string;
  readonly setupStartedAt?: string;
}

const finding = (code: string, severity: Finding['severity'], servers: string[]): Finding =>
  ({
    code,
    severity,
    servers,
    message: `${code} on ${servers.join(', ')}`,
    dig: 'dig +noall +answer x CNAME',
  }) as Finding;

function healthOf(sight: Sight, problem: boolean, inconclusive: boolean): Health {
  if (sight.ses === 'FAILED') return 'REVOKED';
  if (sight.ses === 'TEMPORARY_FAILURE') return 'FAILING';
  if (problem) return 'AT_RISK';
  if (sight.ses === 'PENDING') return 'PENDING';
  return inconclusive ? 'UNKNOWN' : 'HEALTHY';
}

/** An IdentityReport shaped like assessIdentity's, for a domain with three Easy DKIM records. */
export function reportFor(identity: string, sight: Sight, region = 'eu-west-1'): IdentityReport {
  const name = (i: number) => `tok${i}._domainkey.${identity}`;
  const perRecord: Finding[][] = [[], [], []];
  switch (sight.dns) {
    case 'typo':
      perRecord[1]?.push(finding('RECORD_MISMATCH', 'problem', ['ns1', 'ns2']));
      break;
    case 'missing':
      perRecord[0]?.push(finding('RECORD_MISSING', 'problem', ['ns1', 'ns2']));
      break;
    case 'stale':
      for (const f of perRecord) f.push(finding('NAMESERVERS_DISAGREE', 'problem', ['ns1', 'ns-old']));
      break;
    case 'stale+timeout':
      // The good server timed out: only the stale one answered.
      for (const f of perRecord) {
        f.push(finding('RECORD_MISMATCH', 'problem', ['ns-old']));
        f.push(finding('LOOKUP_FAILED', 'inconclusive', ['ns1']));
      }
      break;
    case 'timeout':
      perRecord[2]?.push(finding('LOOKUP_FAILED', 'inconclusive', ['ns2']));
      break;
    default:
      break;
  }
  const all = perRecord.flat();
  const problem = all.some((f) => f.severity === 'problem');
  const inconclusive = all.some((f) => f.severity === 'inconclusive');
  const sesFindings =
    sight.ses === 'TEMPORARY_FAILURE'
      ? [finding('SES_DKIM_TEMPORARY_FAILURE', 'problem', [])]
      : sight.ses === 'FAILED'
        ? [finding('SES_DKIM_FAILED', 'problem', [])]
        : [];
  return {
    identity,
    region,
    identityType: 'DOMAIN',
    health: healthOf(sight, problem, inconclusive),
    sesStatus: sight.ses,
    ...(sight.lastSuccess ? { sesLastSuccess: sight.lastSuccess } : {}),
    ...(sight.setupStartedAt ? { dkimSetupStartedAt: sight.setupStartedAt } : {}),
    signingEnabled: true,
    signingOrigin: 'AWS_SES',
    zone: identity,
    records: perRecord.map((findings, i) => ({
      name: name(i + 1),
      type: 'CNAME' as const,
      expected: `tok${i + 1}.dkim.amazonses.com`,
      findings,
      answers: [],
    })),
    findings: sesFindings,
  };
}

/** A channel that records what it was given and can be told to fail. */
export class RecordingChannel implements AlertChannel {
  readonly sent: RenderedAlert[] = [];
  failNext = 0;
  failAlways = false;
  /** Milliseconds each send takes (so overlapping invocations really interleave). */
  latencyMs = 0;
  constructor(readonly name: string) {}
  async send(alert: RenderedAlert): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.failAlways || this.failNext > 0) {
      this.failNext = Math.max(0, this.failNext - 1);
      throw new Error(`${this.name} is down`);
    }
    this.sent.push(alert);
  }
  /** `stage identity` per delivered alert (a digest lists each of its items). */
  stages(): string[] {
    return this.sent.flatMap((a) => {
      const stages = [a.attributes.stage].flat();
      const identities = [a.attributes.identity].flat();
      return stages.map((s, i) => `${s} ${identities[i]}`);
    });
  }
}

/** A store that counts writes and can be told to fail for one key. */
export class CountingStore implements StateStore {
  puts = 0;
  removes = 0;
  failFor = new Set<string>();
  constructor(private readonly inner: StateStore) {}
  get(key: string) {
    return this.inner.get(key);
  }
  list() {
    return this.inner.list();
  }
  async put(state: IdentityState) {
    if (this.failFor.has(state.key)) throw new Error(`injected write failure for ${state.key}`);
    this.puts++;
    await this.inner.put(state);
  }
  async remove(key: string, version: number) {
    if (this.failFor.has(key)) throw new Error(`injected write failure for ${key}`);
    this.removes++;
    await this.inner.remove(key, version);
  }
}
