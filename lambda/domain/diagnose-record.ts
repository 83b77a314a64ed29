import { checkDkimKey } from './dkim-key';
import type { ExpectedRecord } from './expected-records';
import { digCommand, type Finding, listInWords, type RecordFix } from './findings';
import { nameForMessage, visibleText } from './markup-escape';
import { isDefinitive, type RecordAnswer, serverLabel } from './observations';
import { isCommandDnsName } from './shell-words';

/** What one answer means for one expected record. */
export type Verdict =
  | { readonly kind: 'OK' }
  | { readonly kind: 'MISMATCH'; readonly actual: string }
  | { readonly kind: 'MISSING' }
  | { readonly kind: 'DOUBLED'; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: 'MISNAMED'; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: 'PROXIED'; readonly values: readonly string[] }
  | { readonly kind: 'WRONG_TYPE'; readonly values: readonly string[] }
  | { readonly kind: 'KEY_MISSING'; readonly target: string }
  | { readonly kind: 'KEY_INVALID'; readonly reason: string }
  | { readonly kind: 'INCONCLUSIVE'; readonly why: string };

const ADDRESS_TYPES = /^(A|AAAA) /;

/** Classify one server's answer against the expected record. Pure. */
export function classifyAnswer(expected: ExpectedRecord, answer: RecordAnswer): Verdict {
  if (!isDefinitive(answer.outcome)) {
    return { kind: 'INCONCLUSIVE', why: answer.detail ?? answer.rcode };
  }
  const other = answer.other ?? [];
  if (answer.cname !== undefined) {
    if (expected.kind === 'EASY_DKIM' && answer.cname !== expected.value)
      return { kind: 'MISMATCH', actual: answer.cname };
    if (answer.server.view === 'authoritative') return { kind: 'OK' };
    // Public view: the CNAME is right (or BYODKIM delegates its key by CNAME); the key must exist at the end.
    const keyOutcome = answer.keyOutcome ?? 'NODATA';
    if (!isDefinitive(keyOutcome)) return { kind: 'INCONCLUSIVE', why: `key lookup at ${answer.cname}: ${keyOutcome}` };
    const key = checkDkimKey(answer.txt ?? []);
    if (key.valid) return { kind: 'OK' };
    if (expected.kind === 'BYODKIM' && (answer.txt?.length ?? 0) > 0)
      return { kind: 'KEY_INVALID', reason: key.reason };
    return { kind: 'KEY_MISSING', target: answer.cname };
  }
  if (other.some((v) => ADDRESS_TYPES.test(v))) return { kind: 'PROXIED', values: other };
  const txt = answer.txt ?? [];
  if (expected.kind === 'EASY_DKIM') {
    if (txt.length > 0) return { kind: 'WRONG_TYPE', values: txt.map((t) => `TXT "${t}"`) };
    if (other.length > 0) return { kind: 'WRONG_TYPE', values: other };
  } else if (txt.length > 0) {
    const key = checkDkimKey(txt);
    return key.valid ? { kind: 'OK' } : { kind: 'KEY_INVALID', reason: key.reason };
  } else if (other.length > 0) {
    return { kind: 'WRONG_TYPE', values: other };
  }
  if (answer.doubled) return { kind: 'DOUBLED', name: answer.doubled.name, values: answer.doubled.values };
  if (answer.misnamed) return { kind: 'MISNAMED', name: answer.misnamed.name, values: answer.misnamed.values };
  return { kind: 'MISSING' };
}

/** What a server answered, in one short phrase, to compare servers and to show the user. */
export function answerSummary(answer: RecordAnswer): string {
  const shortTxt = (t: string) => `TXT "${visibleText(t.length > 48 ? `${t.slice(0, 45)}...` : t)}"`;
  if (!isDefinitive(answer.outcome)) return answer.rcode;
  const parts: string[] = [];
  if (answer.cname !== undefined) {
    parts.push(`CNAME ${nameForMessage(answer.cname)}`);
    if (answer.server.view === 'public') {
      const keys = answer.txt ?? [];
      parts.push(keys.length > 0 ? `key ${keys.map(shortTxt).join(' ')}` : `no key (${answer.keyOutcome ?? 'NODATA'})`);
    }
  } else if ((answer.txt?.length ?? 0) > 0) {
    parts.push(...(answer.txt ?? []).map(shortTxt));
  } else if ((answer.other?.length ?? 0) > 0) {
    parts.push(...(answer.other ?? []).map(visibleText));
  } else {
    parts.push(answer.outcome === 'NXDOMAIN' ? 'NXDOMAIN (no such name)' : 'NODATA (name exists, no such record)');
  }
  return parts.join(' ');
}

function publishFix(expected: ExpectedRecord): RecordFix {
  return { action: 'publish', name: expected.name, type: expected.type, value: expected.value };
}

function describeExpected(expected: ExpectedRecord): string {
  return expected.kind === 'EASY_DKIM'
    ? `${expected.name} CNAME ${nameForMessage(expected.value)}`
    : `${expected.name} TXT "v=DKIM1; k=rsa; p=<the public key of your BYODKIM key pair>"`;
}

/** Group answers by a key, keeping first-seen order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Context the record diagnosis needs beyond the answers. */
export interface RecordContext {
  /** The zone holding the record, for messages. */
  readonly zone?: string;
  /** SOA serial each authoritative server serves, by server label (to spot a lagging secondary). */
  readonly serials?: ReadonlyMap<string, number>;
  /** SOA primary (MNAME) each authoritative server serves, by server label. */
  readonly primaries?: ReadonlyMap<string, string>;
  /** The other records of the identity: expected value to record name (to spot tokens swapped between names). */
  readonly siblings?: ReadonlyMap<string, string>;
}

/** `CNAME x` as found at a near-miss name, without its type: the value a console asks for. */
function bareValue(value: string, type: string): string {
  return value.startsWith(`${type} `) ? value.slice(type.length + 1) : value;
}

/**
 * A wrong CNAME value that is a near miss of a name rather than a typo: another record's value (tokens
 * swapped between names) or the right value with the zone appended (a value entered without its final dot).
 */
export function misnamedValue(
  expected: ExpectedRecord,
  actual: string,
  context: RecordContext,
):
  | { readonly kind: 'SWAPPED'; readonly owner: string }
  | { readonly kind: 'ZONE_APPENDED'; readonly suffix: string }
  | undefined {
  const owner = context.siblings?.get(actual);
  if (owner !== undefined && owner !== expected.name) return { kind: 'SWAPPED', owner };
  for (const suffix of new Set([context.zone, expected.domain])) {
    if (suffix && actual === `${expected.value}.${suffix}`) return { kind: 'ZONE_APPENDED', suffix };
  }
  return undefined;
}

/**
 * Diagnose one expected record from every answer (authoritative servers and public resolvers).
 * Returns one finding per distinct problem, each naming the servers that show it.
 */
export function diagnoseRecord(
  expected: ExpectedRecord,
  answers: readonly RecordAnswer[],
  context: RecordContext = {},
): Finding[] {
  const classified = answers.map((answer) => ({ answer, verdict: classifyAnswer(expected, answer) }));
  // When a nameserver shows the record under a doubled name, resolvers that find nothing at the right name
  // are seeing the same mistake: report it once, as DOUBLED_DOMAIN.
  const doubled = classified.find((j) => j.verdict.kind === 'DOUBLED' || j.verdict.kind === 'MISNAMED')?.verdict;
  const judged = classified.map((j) =>
    doubled && j.verdict.kind === 'MISSING' && j.answer.server.view === 'public' ? { ...j, verdict: doubled } : j,
  );
  const findings: Finding[] = [];
  const labels = (items: readonly { answer: RecordAnswer }[]) => items.map((i) => serverLabel(i.answer.server));
  const digFor = (items: readonly { answer: RecordAnswer }[], type: string = expected.type) =>
    digCommand(expected.name, items[0]?.answer.server.view === 'public' ? 'TXT' : type, items[0]?.answer.server);
  const where = (items: readonly { answer: RecordAnswer }[]) => listInWords(labels(items));
  /** The record exists under another name (the domain doubled, the underscore left out): rename it. */
  const misnamed = (
    code: 'DOUBLED_DOMAIN' | 'MISNAMED_RECORD',
    message: string,
    verdict: { readonly name: string; readonly values: readonly string[] },
    group: readonly { answer: RecordAnswer }[],
  ): Finding => ({
    code,
    severity: 'problem',
    message,
    servers: labels(group),
    dig: isCommandDnsName(verdict.name)
      ? digCommand(verdict.name, expected.type, group[0]?.answer.server)
      : digFor(group),
    fixes: [
      ...verdict.values.map((v) => {
        const type = v.split(' ')[0] ?? expected.type;
        return { action: 'remove' as const, name: verdict.name, type, value: bareValue(v, type) };
      }),
      publishFix(expected),
    ],
  });

  // 1. Servers of one view that disagree with each other (the stale-provider incident).
  for (const view of ['authoritative', 'public'] as const) {
    const definitive = judged.filter((j) => j.answer.server.view === view && j.verdict.kind !== 'INCONCLUSIVE');
    const bySummary = groupBy(definitive, (j) => answerSummary(j.answer));
    if (bySummary.size < 2) continue;
    // Servers that are right first: the reader sees the good answer, then who deviates from it.
    const says = [...bySummary.entries()]
      .sort(([, a], [, b]) => Number(b[0]?.verdict.kind === 'OK') - Number(a[0]?.verdict.kind === 'OK'))
      .map(([summary, group]) => {
        const serials = group
          .map((g) => context.serials?.get(serverLabel(g.answer.server)))
          .filter((s): s is number => s !== undefined);
        const serial = serials.length > 0 ? ` [zone serial ${[...new Set(serials)].join('/')}]` : '';
        return `${where(group)} ${group.length > 1 ? 'say' : 'says'} ${summary}${serial}`;
      })
      .join('; ');
    const wrong = definitive.filter((j) => j.verdict.kind !== 'OK');
    // Same primary in the SOA but an older serial: a secondary that missed a zone transfer, not a former provider.
    const right = definitive.filter((j) => j.verdict.kind === 'OK');
    const soaOf = (items: typeof definitive) =>
      items.map((j) => ({
        serial: context.serials?.get(serverLabel(j.answer.server)),
        primary: context.primaries?.get(serverLabel(j.answer.server)),
      }));
    const rightSoa = soaOf(right);
    const wrongSoa = soaOf(wrong);
    const newest = Math.max(...rightSoa.map((x) => x.serial ?? Number.NEGATIVE_INFINITY));
    const lagging =
      right.length > 0 &&
      wrongSoa.length > 0 &&
      wrongSoa.every(
        (w) =>
          w.serial !== undefined &&
          w.serial < newest &&
          w.primary !== undefined &&
          rightSoa.some((r) => r.primary === w.primary),
      );
    const fix =
      view === 'authoritative' && lagging
        ? `${where(wrong)} ${wrong.length > 1 ? 'serve' : 'serves'} an older serial of the same zone (primary ${wrongSoa[0]?.primary}): a secondary that has not transferred the latest zone. Check its zone transfers (NOTIFY/AXFR/IXFR from the primary); the record is already right on the primary`
        : view === 'authoritative'
          ? `every server listed for ${context.zone ?? expected.domain} must serve ${describeExpected(expected)}: publish it on ${where(wrong)}, or remove ${wrong.length > 1 ? 'them' : 'it'} from the registrar's delegation and the zone's NS records if ${wrong.length > 1 ? 'they belong' : 'it belongs'} to a former provider`
          : `resolvers are being sent to servers with different data; fix the authoritative servers, then wait for cached answers to expire`;
    findings.push({
      code: view === 'authoritative' ? 'NAMESERVERS_DISAGREE' : 'RESOLVERS_DISAGREE',
      severity: 'problem',
      message: `${view === 'authoritative' ? 'Authoritative servers' : 'Public resolvers'} disagree about ${expected.name}: ${says}. Fix: ${fix}.`,
      servers: labels(definitive),
      dig: digFor(wrong.length > 0 ? wrong : definitive),
      fixes: wrong.length > 0 ? [publishFix(expected)] : undefined,
    });
  }

  // 2. Each kind of wrong answer, once, naming every server (of either view) that gives it.
  const problems = judged.filter((j) => j.verdict.kind !== 'OK' && j.verdict.kind !== 'INCONCLUSIVE');
  const byProblem = groupBy(problems, (j) => {
    const v = j.verdict;
    return v.kind === 'MISMATCH'
      ? `MISMATCH ${v.actual}`
      : v.kind === 'KEY_INVALID'
        ? `KEY_INVALID ${v.reason}`
        : v.kind;
  });
  for (const group of byProblem.values()) {
    const verdict = group[0]?.verdict;
    if (!verdict) continue;
    const on = where(group);
    switch (verdict.kind) {
      case 'MISMATCH': {
        const near = misnamedValue(expected, verdict.actual, context);
        if (near) {
          findings.push({
            code: 'MISNAMED_RECORD',
            severity: 'problem',
            message:
              near.kind === 'SWAPPED'
                ? `${expected.name} holds CNAME ${nameForMessage(verdict.actual)} on ${on}: that is the value of ${near.owner}, so the tokens were swapped between names. Fix: change the record's value to ${nameForMessage(expected.value)}.`
                : `${expected.name} is CNAME ${nameForMessage(verdict.actual)} on ${on}: the zone ${near.suffix} was appended to the value (entered without its final dot). Fix: change the record's value to ${nameForMessage(expected.value)} (with a final dot in a zone file).`,
            servers: labels(group),
            dig: digFor(group),
            fixes: [
              { action: 'remove', name: expected.name, type: 'CNAME', value: verdict.actual },
              publishFix(expected),
            ],
          });
          break;
        }
        findings.push({
          code: 'RECORD_MISMATCH',
          severity: 'problem',
          message: `${expected.name} is CNAME ${nameForMessage(verdict.actual)} on ${on}, expected CNAME ${nameForMessage(expected.value)}. Fix: change the record's value to ${nameForMessage(expected.value)}.`,
          servers: labels(group),
          dig: digFor(group),
          fixes: [
            { action: 'remove', name: expected.name, type: 'CNAME', value: verdict.actual },
            publishFix(expected),
          ],
        });
        break;
      }
      case 'MISSING':
        findings.push({
          code: 'RECORD_MISSING',
          severity: 'problem',
          message: `${expected.name} has no ${expected.type} record on ${on}. Fix: publish ${describeExpected(expected)}.`,
          servers: labels(group),
          dig: digFor(group),
          fixes: expected.kind === 'EASY_DKIM' ? [publishFix(expected)] : undefined,
        });
        break;
      case 'DOUBLED':
        findings.push(
          misnamed(
            'DOUBLED_DOMAIN',
            `The record was published as ${nameForMessage(verdict.name)} on ${on}: the DNS provider appended the domain a second time. Fix: rename it to ${expected.name} (in most consoles enter only the part before the zone name).`,
            verdict,
            group,
          ),
        );
        break;
      case 'MISNAMED':
        findings.push(
          misnamed(
            'MISNAMED_RECORD',
            `${expected.name} is missing, but ${nameForMessage(verdict.name)} holds ${visibleText(verdict.values.join(', '))} on ${on}: the underscore of _domainkey was left out. Fix: rename it to ${expected.name}.`,
            verdict,
            group,
          ),
        );
        break;
      case 'PROXIED':
        findings.push({
          code: 'RECORD_PROXIED',
          severity: 'problem',
          message: `${expected.name} answers ${visibleText(verdict.values.join(', '))} instead of a CNAME on ${on}: the record is proxied or flattened. Fix: make it a plain ${expected.type} (Cloudflare: "DNS only") to ${nameForMessage(expected.value)}.`,
          servers: labels(group),
          dig: digCommand(expected.name, 'A', group[0]?.answer.server),
          fixes: [publishFix(expected)],
        });
        break;
      case 'WRONG_TYPE':
        findings.push({
          code: 'WRONG_RECORD_TYPE',
          severity: 'problem',
          message: `${expected.name} is published as ${visibleText(verdict.values.join(', '))} on ${on}, but must be ${describeExpected(expected)}. Fix: delete that record and publish the ${expected.type}.${
            expected.kind === 'EASY_DKIM' && verdict.values.some((v) => /p\s*=/.test(v))
              ? ' If nobody created that TXT, the DNS provider is flattening the CNAME (Cloudflare: CNAME flattening): SES needs the CNAME itself, so turn flattening off for this record.'
              : ''
          }`,
          servers: labels(group),
          dig: digCommand(expected.name, verdict.values[0]?.split(' ')[0] ?? 'ANY', group[0]?.answer.server),
          fixes: expected.kind === 'EASY_DKIM' ? [publishFix(expected)] : undefined,
        });
        break;
      case 'KEY_MISSING':
        findings.push({
          code: 'KEY_MISSING',
          severity: 'problem',
          message: isCommandDnsName(verdict.target)
            ? `${expected.name} points to ${verdict.target} but no DKIM key is published there (seen by ${on}). Fix: check that the CNAME value is the exact token SES shows for this identity and region; if it is, SES has no key for it: re-create the DKIM setup.`
            : `${expected.name} points to ${nameForMessage(verdict.target)}, so no DKIM key can be found there (seen by ${on}). Fix: point the CNAME at the host name that holds the key${expected.kind === 'EASY_DKIM' ? ` (${nameForMessage(expected.value)})` : ''}.`,
          servers: labels(group),
          // The target itself cannot be queried when it is no DNS name: show the CNAME that points at it.
          dig: isCommandDnsName(verdict.target)
            ? digCommand(verdict.target, 'TXT', group[0]?.answer.server)
            : digCommand(expected.name, 'CNAME', group[0]?.answer.server),
        });
        break;
      case 'KEY_INVALID':
        findings.push({
          code: 'BYODKIM_KEY_INVALID',
          severity: 'problem',
          message: `The DKIM key at ${expected.name} is unusable on ${on}: ${visibleText(verdict.reason)}. Fix: publish ${describeExpected(expected)} with the complete public key (split long keys into several quoted strings, not several records).`,
          servers: labels(group),
          dig: digCommand(expected.name, 'TXT', group[0]?.answer.server),
        });
        break;
    }
  }

  // 3. Lookups that could not be completed: inconclusive, never "missing".
  const inconclusive = judged.filter(
    (j): j is { answer: RecordAnswer; verdict: Extract<Verdict, { kind: 'INCONCLUSIVE' }> } =>
      j.verdict.kind === 'INCONCLUSIVE',
  );
  for (const group of groupBy(inconclusive, (j) => j.verdict.why).values()) {
    const why = group[0]?.verdict.why ?? 'no answer';
    findings.push({
      code: 'LOOKUP_FAILED',
      severity: 'inconclusive',
      message: `${expected.name} could not be checked on ${where(group)}: ${visibleText(why)}. This is inconclusive, not evidence that the record is missing; if it persists, check that server.`,
      servers: labels(group),
      dig: digFor(group),
    });
  }
  if (!judged.some((j) => j.answer.server.view === 'authoritative')) {
    findings.push({
      code: 'LOOKUP_FAILED',
      severity: 'inconclusive',
      message: `${expected.name} could not be checked on any authoritative server (none could be found for ${context.zone ?? expected.domain}); the record is unverified.`,
      servers: [],
      dig: digCommand(expected.name, expected.type),
    });
  }
  return findings;
}
