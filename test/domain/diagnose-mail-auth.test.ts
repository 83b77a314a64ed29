import { describe, expect, it } from 'vitest';
import { assessIdentity, type Health } from '../../lambda/domain/assess-identity';
import { assessMailAuth } from '../../lambda/domain/diagnose-mail-auth';
import { planMailAuthChecks, withMailAuthPlans } from '../../lambda/domain/expected-records';
import {
  lookupKey,
  type MailAuthAnswer,
  type MailAuthLookupObservation,
  type MailAuthObservation,
} from '../../lambda/domain/mail-auth-observations';
import type { ServerRef } from '../../lambda/domain/observations';
import { mailAuthRootCauseKeys, rootCauseKeys } from '../../lambda/domain/root-causes';
import type { SesIdentity, SesMailFrom } from '../../lambda/domain/ses-identity';
import type { SpfEvaluation } from '../../lambda/domain/spf';

const NS1: ServerRef = { name: 'ns1.example.com', address: '192.0.2.1', port: 53, view: 'authoritative' };
const NS2: ServerRef = { name: 'ns2.example.com', address: '192.0.2.2', port: 53, view: 'authoritative' };
const RESOLVER: ServerRef = { name: '1.1.1.1', address: '1.1.1.1', port: 53, view: 'public' };
const SERVERS = [NS1, NS2, RESOLVER];
const SES_MX = 'feedback-smtp.eu-west-1.amazonses.com';
const SES_SPF = 'v=spf1 include:amazonses.com ~all';

function identity(name: string, mailFrom?: Partial<SesMailFrom> | null): SesIdentity {
  return {
    name,
    region: 'eu-west-1',
    type: name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: ['t1'], origin: 'AWS_SES' },
    ...(mailFrom === null
      ? {}
      : {
          mailFrom: {
            domain: 'mail.example.com',
            status: 'SUCCESS',
            behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
            ...mailFrom,
          },
        }),
  };
}

type Serve = Partial<Pick<MailAuthAnswer, 'mx' | 'txt' | 'outcome' | 'detail' | 'rcode'>>;

function lookup(name: string, type: 'MX' | 'TXT', serve: (server: ServerRef) => Serve): MailAuthLookupObservation {
  return {
    name,
    type,
    zone: 'example.com',
    answers: SERVERS.map((server) => {
      const s = serve(server);
      const hasData = (s.mx?.length ?? 0) > 0 || (s.txt?.length ?? 0) > 0;
      return { server, outcome: hasData ? 'ANSWER' : 'NODATA', rcode: 'NOERROR', ...s };
    }),
    problems: [],
  };
}

const SES_WALK: SpfEvaluation = {
  lookups: 1,
  exceeded: false,
  authorizes: ['amazonses.com'],
  errors: [],
  unfollowed: [],
};

/** Everything right for example.com with MAIL FROM mail.example.com; `dmarc` is the record at _dmarc.example.com. */
function world(dmarc: string | null, overrides: MailAuthLookupObservation[] = []): MailAuthObservation {
  const lookups = new Map<string, MailAuthLookupObservation>();
  for (const l of [
    lookup('mail.example.com', 'MX', () => ({ mx: [{ preference: 10, exchange: SES_MX }] })),
    lookup('mail.example.com', 'TXT', () => ({ txt: [SES_SPF] })),
    lookup('_dmarc.example.com', 'TXT', () => (dmarc === null ? { outcome: 'NXDOMAIN' } : { txt: [dmarc] })),
    lookup('_dmarc.sub.example.com', 'TXT', () => ({ outcome: 'NXDOMAIN' })),
    ...overrides,
  ]) {
    lookups.set(lookupKey(l.name, l.type), l);
  }
  return { lookups, spf: new Map([[SES_SPF, SES_WALK]]) };
}

function assess(id: SesIdentity, observation: MailAuthObservation, dkimHealth: Health = 'HEALTHY') {
  return assessMailAuth(planMailAuthChecks(id), id, observation, dkimHealth);
}

describe('planMailAuthChecks', () => {
  it('plans MX and TXT at the MAIL FROM domain and DMARC at the From domain and its organizational domain', () => {
    expect(planMailAuthChecks(identity('sub.example.com', { domain: 'bounce.sub.example.com' }))).toEqual({
      mailFrom: {
        domain: 'bounce.sub.example.com',
        status: 'SUCCESS',
        behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
        mxHost: SES_MX,
        lookups: [
          { name: 'bounce.sub.example.com', type: 'MX' },
          { name: 'bounce.sub.example.com', type: 'TXT' },
        ],
      },
      dmarc: {
        domain: 'sub.example.com',
        organizationalDomain: 'example.com',
        lookups: [
          { name: '_dmarc.sub.example.com', type: 'TXT' },
          { name: '_dmarc.example.com', type: 'TXT' },
        ],
      },
    });
  });

  it('plans DMARC for an address identity at its domain, and no MAIL FROM without a custom one', () => {
    const plan = planMailAuthChecks(identity('ops@example.co.uk', null));
    expect(plan.mailFrom).toBeUndefined();
    expect(plan.dmarc?.lookups).toEqual([{ name: '_dmarc.example.co.uk', type: 'TXT' }]);
  });

  it('leaves out each check that is turned off, and withMailAuthPlans leaves the DKIM plan alone', () => {
    const id = identity('example.com');
    expect(Object.keys(planMailAuthChecks(id, { checkMailFrom: false }))).toEqual(['dmarc']);
    expect(Object.keys(planMailAuthChecks(id, { checkDmarc: false }))).toEqual(['mailFrom']);
    const [plan] = withMailAuthPlans([{ identity: id, records: [] }], { checkMailFrom: false, checkDmarc: false });
    expect(plan).toEqual({ identity: id, records: [] });
  });
});

describe('the DMARC verdict (DMARC_WILL_FAIL)', () => {
  const willFail = (report: ReturnType<typeof assess>) =>
    report.dmarc?.findings.find((f) => f.code === 'DMARC_WILL_FAIL');

  it('is a problem under p=reject when DKIM is revoked and SES uses its own MAIL FROM', () => {
    const report = assess(identity('example.com', null), world('v=DMARC1; p=reject'), 'REVOKED');
    expect(willFail(report)).toMatchObject({ severity: 'problem' });
    expect(willFail(report)?.message).toBe(
      "SES is not signing with DKIM for example.com (DKIM REVOKED), and it uses SES's own MAIL FROM domain, which never aligns: mail From example.com fails DMARC, and receivers reject it (p=reject of _dmarc.example.com). Fix the DKIM records first; a custom MAIL FROM domain under your domain would give an aligned SPF pass as a second path.",
    );
    expect(report.dmarc?.health).toBe('AT_RISK');
  });

  it('is a warning under p=none, and speaks of the future while DKIM is only AT_RISK', () => {
    const report = assess(identity('example.com', null), world('v=DMARC1; p=none'), 'AT_RISK');
    expect(willFail(report)).toMatchObject({ severity: 'warning' });
    expect(willFail(report)?.message).toContain('once SES stops signing');
    expect(willFail(report)?.message).toContain('will fail DMARC, and receivers still deliver it (p=none)');
    expect(report.dmarc?.health).toBe('HEALTHY');
  });

  it.each([
    ['TEMPORARY_FAILURE', 'is TEMPORARY_FAILURE in SES, so SES sends with its own'],
    ['PENDING', 'is PENDING in SES'],
  ] as const)('counts a custom MAIL FROM that is %s as not aligned', (status, words) => {
    const report = assess(identity('example.com', { status }), world('v=DMARC1; p=quarantine'), 'FAILING');
    expect(willFail(report)?.message).toContain(words);
    expect(willFail(report)?.message).toContain('receivers put it in spam (quarantine)');
  });

  it('counts a custom MAIL FROM with a broken SPF record as not aligned', () => {
    const noSpf = lookup('mail.example.com', 'TXT', () => ({ outcome: 'NXDOMAIN' }));
    const report = assess(identity('example.com'), world('v=DMARC1; p=reject', [noSpf]), 'REVOKED');
    expect(willFail(report)?.message).toContain('the SPF record of its MAIL FROM domain mail.example.com is broken');
  });

  it('counts a custom MAIL FROM as not aligned under aspf=s', () => {
    const report = assess(identity('example.com'), world('v=DMARC1; p=reject; aspf=s'), 'REVOKED');
    expect(willFail(report)?.message).toContain('strict SPF alignment (aspf=s)');
  });

  it('says nothing when a healthy custom MAIL FROM aligns in relaxed mode', () => {
    const report = assess(identity('example.com'), world('v=DMARC1; p=reject'), 'REVOKED');
    expect(willFail(report)).toBeUndefined();
    expect(report.dmarc?.health).toBe('HEALTHY');
  });
});

describe('inconclusive lookups', () => {
  it('a resolver timeout at the DMARC name is inconclusive: UNKNOWN, not missing', () => {
    const timedOut = lookup('_dmarc.example.com', 'TXT', () => ({
      outcome: 'TIMEOUT',
      rcode: 'TIMEOUT',
      detail: 'no answer within 2000 ms (3 tries)',
    }));
    const report = assess(identity('example.com', null), world('v=DMARC1; p=reject', [timedOut]));
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['LOOKUP_FAILED', 'inconclusive']]);
    expect(report.dmarc?.health).toBe('UNKNOWN');
    expect(report.dmarc?.policy).toBeUndefined();
  });

  it('with no authoritative server asked, nothing is verified: UNKNOWN, never HEALTHY', () => {
    const resolverOnly: MailAuthLookupObservation = {
      name: 'mail.example.com',
      type: 'MX',
      answers: [{ server: RESOLVER, outcome: 'ANSWER', rcode: 'NOERROR', mx: [{ preference: 10, exchange: SES_MX }] }],
      problems: [],
    };
    const report = assess(identity('example.com'), world('v=DMARC1; p=reject', [resolverOnly]));
    expect(report.mailFrom?.findings.map((f) => f.code)).toEqual(['LOOKUP_FAILED']);
    expect(report.mailFrom?.health).toBe('UNKNOWN');
  });

  it('an SPF include chain that could not be followed is inconclusive, not valid', () => {
    const observation = world('v=DMARC1; p=reject');
    const report = assess(identity('example.com'), {
      ...observation,
      spf: new Map([
        [SES_SPF, { ...SES_WALK, inconclusive: 'the SPF record of amazonses.com could not be read (SERVFAIL)' }],
      ]),
    });
    expect(report.mailFrom?.findings.map((f) => [f.code, f.severity])).toEqual([['LOOKUP_FAILED', 'inconclusive']]);
    expect(report.mailFrom?.health).toBe('UNKNOWN');
  });
});

describe('untrusted data in MAIL FROM and DMARC findings', () => {
  it('escapes control characters from DNS in messages and quotes nothing it cannot', () => {
    const hostile = lookup('mail.example.com', 'MX', () => ({
      mx: [{ preference: 10, exchange: 'evil\u001b[31m.example' }],
    }));
    const dmarc = 'v=DMARC1; p=\u202ereject';
    const report = assess(identity('example.com'), world(dmarc, [hostile]));
    const messages = [...(report.mailFrom?.findings ?? []), ...(report.dmarc?.findings ?? [])].map((f) => f.message);
    expect(messages.join('\n')).not.toContain('\u001b');
    expect(messages.join('\n')).not.toContain('\u202e');
    expect(messages.join('\n')).toContain('\\x1b');
  });
});

describe('separate from DKIM', () => {
  it('MAIL FROM and DMARC problems never change the DKIM health or its root causes', () => {
    const id = identity('example.com', { status: 'FAILED' });
    const plan = { identity: id, records: [], mailAuth: planMailAuthChecks(id) };
    const observation = world(null, [lookup('mail.example.com', 'MX', () => ({ outcome: 'NXDOMAIN' }))]);
    const dkimObservation = {
      zone: { zone: 'example.com', servers: [], unresolvedNs: [], problems: [] },
      answers: new Map(),
    };
    const withoutMailAuth = assessIdentity({ identity: id, records: [] }, dkimObservation);
    const report = assessIdentity(plan, { ...dkimObservation, mailAuth: observation });

    expect(report.health).toBe(withoutMailAuth.health);
    expect(report.findings).toEqual(withoutMailAuth.findings);
    expect(rootCauseKeys(report)).toEqual(rootCauseKeys(withoutMailAuth));
    expect(withoutMailAuth.mailFrom).toBeUndefined();
    expect(report.mailFrom?.health).toBe('REVOKED');
    expect(report.mailFrom?.findings.map((f) => f.code)).toEqual(['SES_MAIL_FROM_FAILED', 'MAIL_FROM_MX_MISSING']);
    expect(mailAuthRootCauseKeys(report.mailFrom as NonNullable<typeof report.mailFrom>, 'mail.example.com')).toEqual([
      'mail-from-mx|mail.example.com',
    ]);
    expect(report.dmarc?.findings.map((f) => f.code)).toEqual(['DMARC_MISSING']);
  });

  it('assesses MAIL FROM and DMARC for an identity whose DKIM was not probed (no records)', () => {
    const id = identity('ops@example.com');
    const report = assessIdentity(
      { identity: id, records: [], mailAuth: planMailAuthChecks(id) },
      undefined,
      world(null),
    );

    expect(report.mailFrom?.health).toBe('HEALTHY');
    expect(report.dmarc?.findings.map((f) => f.code)).toEqual(['DMARC_MISSING']);
  });

  it('keys DMARC causes on the _dmarc name, one key however many servers and codes', () => {
    const report = assess(identity('example.com'), world('v=DMARC1; p=reject; p=none'));
    expect(report.dmarc?.findings.map((f) => [f.code, f.severity])).toEqual([['DMARC_INVALID', 'warning']]);
    const several = assess(
      identity('example.com'),
      world(null, [lookup('_dmarc.example.com', 'TXT', () => ({ txt: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] }))]),
    );
    expect(mailAuthRootCauseKeys(several.dmarc as NonNullable<typeof several.dmarc>, '_dmarc.example.com')).toEqual([
      'dmarc|_dmarc.example.com',
    ]);
  });
});
