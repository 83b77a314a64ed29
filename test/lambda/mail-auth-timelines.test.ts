import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { type AlertLifecycleSettings, advanceLifecycle } from '../../lambda/alert-lifecycle';
import { DEFAULT_LIFECYCLE, stateKey } from '../../lambda/domain/lifecycle';
import { startDynalite } from '../support/dynalite';
import { type DmarcSight, type MailFromSight, withMailAuth } from '../support/mail-auth-reports';
import { RecordingChannel, reportFor, type Sight } from '../support/reports';

/**
 * Five-day timelines of an identity's custom MAIL FROM domain and DMARC record through the real lifecycle,
 * dynalite and a channel, hour by hour: each track is an incident of its own, with its own words and
 * severity (a broken MAIL FROM is urgent; DMARC never pages).
 */
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (hours: number) => new Date(T0 + hours * HOUR).toISOString();
const SETTINGS: AlertLifecycleSettings = { ...DEFAULT_LIFECYCLE, digestThreshold: 10, claimLeaseMs: 20 * 60_000 };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let db: Awaited<ReturnType<typeof startDynalite>>;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite('mail-auth-timelines');
});
afterAll(async () => {
  await db?.stop();
});

interface Moment {
  readonly dkim: Sight;
  readonly mailFrom?: MailFromSight;
  readonly dmarc?: DmarcSight;
}

async function timeline(identity: string, moments: Record<number, Moment>, lastHour: number) {
  tables++;
  const table = await db.createTable(`mail-auth-${tables}`);
  const store = new DynamoDbStateStore(db.doc, table);
  const channel = new RecordingChannel('sns');
  let current = moments[0] as Moment;
  for (let hour = 0; hour <= lastHour; hour++) {
    current = moments[hour] ?? current;
    const report = withMailAuth(reportFor(identity, current.dkim), {
      ...(current.mailFrom ? { mailFrom: current.mailFrom } : {}),
      ...(current.dmarc ? { dmarc: current.dmarc } : {}),
    });
    await advanceLifecycle(
      [report],
      SETTINGS,
      { account: '123456789012' },
      {
        store,
        channels: [channel],
        now: () => T0 + hour * HOUR,
        invocationId: `run-${tables}-${hour}`,
        logger: quiet,
      },
    );
  }
  const log = channel.sent.map(
    (a) => `${[a.attributes.check].flat()[0]} ${a.attributes.stage} ${a.attributes.severity}`,
  );
  return { log, channel, store };
}

const dkimOk: Sight = { ses: 'SUCCESS', dns: 'ok' };

describe('MAIL FROM and DMARC timelines (lifecycle + dynalite, hour by hour)', () => {
  it('MAIL FROM breaks while DKIM is fine: its own incident, urgent, with SES 72-hour clock; fixed; DKIM never speaks', async () => {
    const { log, channel } = await timeline(
      'mail.example',
      {
        0: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'ok' }, dmarc: 'reject' },
        5: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'mx-missing' }, dmarc: 'reject' },
        20: { dkim: dkimOk, mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'mx-missing' }, dmarc: 'reject' },
        // Fixed at 70 h, 3 hours after the 24-hour reminder (SES's 72 h run from the last run that saw SUCCESS).
        70: { dkim: dkimOk, mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'ok' }, dmarc: 'reject' },
        71: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'ok' }, dmarc: 'reject' },
      },
      24 * 5,
    );

    expect(log).toEqual([
      'MAIL_FROM DETECTED critical',
      'MAIL_FROM SIGNING_STOPPED critical',
      'MAIL_FROM REMINDER critical',
      'MAIL_FROM RESOLVED info',
    ]);
    const [detected, stopped] = channel.sent;
    expect(detected?.subject).toMatch(/^MAIL FROM DETECTED: mail\.example \(eu-west-1\)$/);
    expect(detected?.text).toContain('SES has not noticed yet: its 72-hour clock starts');
    expect(stopped?.text).toMatch(/it marks the MAIL FROM domain FAILED by \S+: \d+(\.\d)? hours left/);
    expect(stopped?.text).toContain('SES sends with its own MAIL FROM domain instead');
  });

  it('MAIL FROM never fixed: SES marks it FAILED after 72 hours; EXPIRED says how to set it up again', async () => {
    const { log, channel } = await timeline(
      'gone.example',
      {
        0: { dkim: dkimOk, mailFrom: { ses: 'TEMPORARY_FAILURE', dns: 'mx-missing', behavior: 'REJECT_MESSAGE' } },
        72: { dkim: dkimOk, mailFrom: { ses: 'FAILED', dns: 'mx-missing', behavior: 'REJECT_MESSAGE' } },
      },
      24 * 5,
    );

    expect(log[0]).toBe('MAIL_FROM DETECTED critical');
    expect(log.filter((l) => l.includes('EXPIRED'))).toEqual(['MAIL_FROM EXPIRED critical']);
    expect(channel.sent[0]?.text).toContain('SES rejects sends from this identity (MailFromDomainNotVerified)');
    expect(channel.sent.at(-1)?.text).toContain('aws sesv2 put-email-identity-mail-from-attributes');
  });

  it('both break: DKIM and MAIL FROM are two incidents, each told once, each resolved once', async () => {
    const broken: Moment = {
      dkim: { ses: 'SUCCESS', dns: 'typo' },
      mailFrom: { ses: 'SUCCESS', dns: 'spf-missing' },
      dmarc: 'reject',
    };
    const { log, store } = await timeline(
      'both.example',
      {
        0: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'ok' }, dmarc: 'reject' },
        3: broken,
        30: { ...broken, dkim: { ses: 'TEMPORARY_FAILURE', dns: 'typo', lastSuccess: at(29.5) } },
        50: { dkim: { ses: 'SUCCESS', dns: 'ok' }, mailFrom: { ses: 'SUCCESS', dns: 'ok' }, dmarc: 'reject' },
      },
      24 * 5,
    );

    expect(log.filter((l) => l.startsWith('DKIM'))).toEqual([
      'DKIM DETECTED warning',
      'DKIM SIGNING_STOPPED critical',
      'DKIM RESOLVED info',
    ]);
    expect(log.filter((l) => l.startsWith('MAIL_FROM'))).toEqual([
      'MAIL_FROM DETECTED critical',
      'MAIL_FROM RESOLVED info',
    ]);
    expect(await store.get(stateKey('eu-west-1', 'both.example', { track: 'MAIL_FROM' }))).toBeUndefined();
  });

  it('DMARC: several records is announced (never paged), p=none says nothing, a timeout says nothing', async () => {
    const { log } = await timeline(
      'policy.example',
      {
        0: { dkim: dkimOk, dmarc: 'none' },
        10: { dkim: dkimOk, dmarc: 'timeout' },
        20: { dkim: dkimOk, dmarc: 'multiple' },
        40: { dkim: dkimOk, dmarc: 'reject' },
      },
      60,
    );

    expect(log).toEqual(['DMARC DETECTED warning', 'DMARC RESOLVED info']);
  });

  it('a MAIL FROM section missing from one run (not read this run) closes nothing and says nothing', async () => {
    const { log } = await timeline(
      'unread.example',
      {
        0: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'mx-missing' } },
        10: { dkim: dkimOk },
        12: { dkim: dkimOk, mailFrom: { ses: 'SUCCESS', dns: 'mx-missing' } },
      },
      30,
    );

    expect(log).toEqual(['MAIL_FROM DETECTED critical']);
  });

  it('the DMARC check turned off during its incident: one CLOSED, then nothing', async () => {
    const { log } = await timeline('off.example', { 0: { dkim: dkimOk, dmarc: 'multiple' }, 10: { dkim: dkimOk } }, 30);

    expect(log).toEqual(['DMARC DETECTED warning', 'DMARC CLOSED info']);
  });
});
