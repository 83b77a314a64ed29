import { describe, expect, it } from 'vitest';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import type { Finding } from '../../lambda/domain/findings';
import { renderDigest, renderIdentityAlert } from '../../lambda/domain/render-alert';
import { reportFor } from '../support/reports';

const ACCOUNT = '123456789012';

/** A typo report whose finding carries its fixes, as diagnoseRecord writes them. */
function typoReport(): IdentityReport {
  const base = reportFor('example.com', { ses: 'TEMPORARY_FAILURE', dns: 'ok' });
  const mismatch: Finding = {
    code: 'RECORD_MISMATCH',
    severity: 'problem',
    message:
      'tok2._domainkey.example.com is CNAME tokk2.dkim.amazonses.com on ns1, expected CNAME tok2.dkim.amazonses.com. Fix: change the value.',
    servers: ['ns1'],
    dig: 'dig @192.0.2.1 +norecurse tok2._domainkey.example.com CNAME',
    fixes: [
      { action: 'remove', name: 'tok2._domainkey.example.com', type: 'CNAME', value: 'tokk2.dkim.amazonses.com' },
      { action: 'publish', name: 'tok2._domainkey.example.com', type: 'CNAME', value: 'tok2.dkim.amazonses.com' },
    ],
  };
  return { ...base, records: base.records.map((r, i) => (i === 1 ? { ...r, findings: [mismatch] } : r)) };
}

describe('Slack parity with the email', () => {
  it('carries the account, the cause with its fix and marked diff, the DNS change list and the console link', () => {
    const alert = renderIdentityAlert(
      typoReport(),
      { account: ACCOUNT },
      { stage: 'DETECTED', hoursLeft: 41, deadline: '2026-11-25T02:12:51.000Z', deadlineKind: 'REVOCATION' },
    );
    const slack = JSON.stringify(alert.slack.blocks);

    for (const shown of [
      `account ${ACCOUNT}`,
      'has a typo in its value',
      'Change the value of tok2._domainkey.example.com',
    ]) {
      expect(alert.text).toContain(shown);
      expect(slack).toContain(shown);
    }
    expect(slack).toContain('found `tok[k]2.dkim.amazonses.com`');
    expect(slack).toContain('`publish  tok2._domainkey.example.com  CNAME  tok2.dkim.amazonses.com`');
    expect(slack).toContain('41 hours left');
    expect(slack).toContain('console.aws.amazon.com/sesv2/home?region=eu-west-1#/identities/example.com');
    // Causes come before the finding details, in both media.
    expect(alert.text.indexOf('What to fix')).toBeLessThan(alert.text.indexOf('Details (every finding)'));
    expect(slack.indexOf('has a typo')).toBeLessThan(slack.indexOf('*RECORD_MISMATCH*'));
  });

  it('never says publish for records that already exist when the fix is a delegation change', () => {
    const alert = renderIdentityAlert(reportFor('example.com', { ses: 'TEMPORARY_FAILURE', dns: 'timeout' }), {
      account: ACCOUNT,
    });

    expect(alert.text).not.toContain('Change in your DNS');
  });
});

describe('digest', () => {
  it('gives 40 identities behind one provider outage one line naming the provider', () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      report: reportFor(`d${String(i).padStart(2, '0')}.example`, { ses: 'SUCCESS', dns: 'timeout' }),
      view: { stage: 'CANNOT_VERIFY' as const },
    }));
    const digest = renderDigest(items, { account: ACCOUNT });
    const slack = JSON.stringify(digest.slack.blocks);

    expect(digest.text).toContain('40 identities, one cause (LOOKUP_FAILED on ns2): d00.example, d01.example');
    expect(digest.text).toContain('and 30 more.');
    // Slack: the shared line, not 40 lines.
    expect(digest.slack.blocks).toHaveLength(2);
    expect(slack).toContain('40 identities, one cause');
  });

  it('lists each identity with its top cause and hours left when causes differ', () => {
    const items = [
      {
        report: typoReport(),
        view: { stage: 'DETECTED' as const, hoursLeft: 41.2, deadline: '2026-11-25T02:12:51.000Z' },
      },
      { report: reportFor('other.example', { ses: 'SUCCESS', dns: 'missing' }), view: { stage: 'DETECTED' as const } },
    ];
    const digest = renderDigest(items, { account: ACCOUNT });
    const slack = JSON.stringify(digest.slack.blocks);

    expect(slack).toMatch(
      /DKIM DETECTED: example\.com \(eu-west-1\), 41h left: record 2 \(tok2\._domainkey\.example\.com\) has a typo .* \(41 hours left\)/,
    );
    expect(slack).toContain(
      'DKIM DETECTED: other.example (eu-west-1): record 1 (tok1._domainkey.other.example) is not published: no CNAME on ns1 and ns2.',
    );
    expect(digest.text).toContain('Fix: Change the value of tok2._domainkey.example.com to tok2.dkim.amazonses.com.');
  });
});
