import type { Answer, RecordType } from 'dns-packet';
import { normalizeName } from '../../domain/dns-name';
import type { DsRecord, RrsigRecord, ServedRrset } from '../../domain/dnssec';
import type { ExpectedRecord } from '../../domain/expected-records';
import type { DnssecObservation, DnssecServerAnswer, RecordAnswer, ServerRef } from '../../domain/observations';
import type { DnsResult, DnsTransport } from './dns-transport';
import type { QueryBudget } from './query-budget';

interface DataRecord {
  readonly name: string;
  readonly type: string;
  readonly data: unknown;
}

function owned(records: readonly Answer[], name: string): DataRecord[] {
  return (records as readonly DataRecord[]).filter(
    (r) => typeof r.name === 'string' && normalizeName(r.name) === name && r.data !== undefined,
  );
}

function isRrsig(data: unknown): data is RrsigRecord {
  const d = data as Partial<RrsigRecord>;
  return typeof d?.typeCovered === 'string' && typeof d.signersName === 'string' && d.signature instanceof Uint8Array;
}

/** The RRset of `type` at `name` in an answer section, with the RRSIGs covering it; undefined when there is none. */
function rrsetIn(answers: readonly Answer[], name: string, type: string): ServedRrset | undefined {
  const atName = owned(answers, name);
  const data = atName.filter((r) => r.type === type).map((r) => r.data);
  if (data.length === 0) return undefined;
  const signatures = atName
    .filter((r) => r.type === 'RRSIG')
    .map((r) => r.data)
    .filter(isRrsig)
    .filter((s) => s.typeCovered === type);
  return { name, type, data, signatures };
}

function failure(result: DnsResult): string | undefined {
  if (!result.ok) return result.detail;
  if (result.rcode !== 'NOERROR' && result.rcode !== 'NXDOMAIN') return `${result.rcode} from the server`;
  if (!result.authoritative) return 'answered without the authoritative (AA) flag';
  return undefined;
}

/**
 * The DNSSEC queries: the DS set at the parent, the DNSKEY set at every authoritative server, the RRSIGs over
 * the DKIM records (all with the DO bit), and a CD-bit query to each resolver that answered SERVFAIL. A zone
 * whose parent has no DS costs exactly one query (more only when that one query is retried after a timeout).
 * Every query is charged to the caller's budget; any failed query is recorded as inconclusive, never as
 * evidence.
 */
export class DnssecProber {
  /** Signed answers already received (identities sharing records ask once); failed lookups are not kept. */
  private readonly signedAnswers = new Map<string, Promise<DnssecServerAnswer>>();

  constructor(
    private readonly transport: DnsTransport,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** The zone's chain of trust: the parent's DS set, then (only when there is one) every server's DNSKEY set. */
  async observeChain(
    zone: string,
    parentServer: ServerRef | undefined,
    servers: readonly ServerRef[],
    budget: QueryBudget,
  ): Promise<DnssecObservation> {
    const base = { checkedAt: this.nowSeconds(), parentServer, keys: [], records: [], resolverChecks: [] };
    if (!parentServer) {
      return { ...base, ds: { kind: 'inconclusive', detail: "the parent zone's delegation could not be read" } };
    }
    const result = await this.transport.query(
      parentServer,
      { name: zone, type: 'DS', recursionDesired: false, dnssecOk: true },
      budget,
    );
    const why = failure(result);
    if (why || !result.ok) return { ...base, ds: { kind: 'inconclusive', detail: why ?? 'no answer' } };
    const ds = owned(result.answers, zone)
      .filter((r) => r.type === 'DS')
      .map((r) => r.data as DsRecord);
    if (ds.length === 0) return { ...base, ds: { kind: 'none' } };
    const keys = await Promise.all(servers.map((server) => this.ask(server, zone, 'DNSKEY', budget)));
    return { ...base, ds: { kind: 'found', records: ds }, keys };
  }

  /**
   * The signatures over one identity's DKIM records on every server, and CD-bit checks of the resolvers that
   * answered SERVFAIL. Nothing is asked when the parent has no DS: then no validator checks signatures.
   */
  async observeRecords(
    chain: DnssecObservation,
    records: readonly ExpectedRecord[],
    servers: readonly ServerRef[],
    answers: ReadonlyMap<string, readonly RecordAnswer[]>,
    budget: QueryBudget,
  ): Promise<DnssecObservation> {
    if (chain.ds.kind !== 'found') return chain;
    const signed = await Promise.all(
      records.flatMap((expected) =>
        servers.map(async (server) => ({
          name: expected.name,
          ...(await this.askOnce(server, expected.name, expected.type, budget)),
        })),
      ),
    );
    const servfails = records.flatMap((expected) =>
      (answers.get(expected.name) ?? [])
        .filter((a) => a.server.view === 'public' && a.outcome === 'SERVFAIL')
        .map((a) => ({ name: expected.name, resolver: a.server })),
    );
    const resolverChecks = await Promise.all(
      servfails.map(async ({ name, resolver }) => {
        const result = await this.transport.query(
          resolver,
          { name, type: 'TXT', recursionDesired: true, checkingDisabled: true, dnssecOk: true },
          budget,
        );
        return {
          name,
          resolver,
          answersWithCd: result.ok && (result.rcode === 'NOERROR' || result.rcode === 'NXDOMAIN'),
        };
      }),
    );
    return {
      ...chain,
      records: [...chain.records, ...signed],
      resolverChecks: [...chain.resolverChecks, ...resolverChecks],
    };
  }

  private askOnce(server: ServerRef, name: string, type: RecordType, budget: QueryBudget): Promise<DnssecServerAnswer> {
    const key = `${server.address}|${server.port}|${name}|${type}`;
    const cached = this.signedAnswers.get(key);
    if (cached) return cached;
    const answer = this.ask(server, name, type, budget).then((a) => {
      if (a.inconclusive !== undefined) this.signedAnswers.delete(key);
      return a;
    });
    this.signedAnswers.set(key, answer);
    return answer;
  }

  /** One server's RRset at `name` (a CNAME there stands in for the asked type), with its RRSIGs. */
  private async ask(
    server: ServerRef,
    name: string,
    type: RecordType,
    budget: QueryBudget,
  ): Promise<DnssecServerAnswer> {
    const result = await this.transport.query(server, { name, type, recursionDesired: false, dnssecOk: true }, budget);
    const why = failure(result);
    if (why || !result.ok) return { server, inconclusive: why ?? 'no answer' };
    const rrset = rrsetIn(result.answers, name, 'CNAME') ?? rrsetIn(result.answers, name, type);
    return rrset ? { server, rrset } : { server };
  }
}
