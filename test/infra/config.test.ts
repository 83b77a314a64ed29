import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, type DkimSentinelOptions, resolveSettings } from '../../lib/config';
import { synthTemplate } from './synth';

describe('resolveSettings', () => {
  it('fills every default', () => {
    expect(resolveSettings({}, { region: 'eu-west-1' })).toEqual({
      schedule: 'rate(1 hour)',
      scheduleMinutes: 60,
      regions: ['eu-west-1'],
      alertEmails: [],
      opsEmails: [],
      slackWorkspaceId: undefined,
      slackChannelId: undefined,
      slackWebhookSecretName: undefined,
      resolvers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'],
      graceDays: 5,
      reminderHours: [72, 24, 6],
      confirmRuns: 2,
      confirmOnEveryServer: true,
      cannotVerifyRuns: 3,
      digestThreshold: 5,
      ignoreIdentities: [],
      logLevel: 'INFO',
      identityMetrics: true,
      encryptTopic: false,
      route53: true,
      autoRepair: false,
      autoRepairZoneIds: [],
      sesRequestsPerSecond: 1,
      sesAttributeRefreshPerRun: 20,
      mailFromCheck: true,
      dmarcCheck: true,
    });
  });

  it('accepts context strings, JSON arrays and typed values alike', () => {
    const fromStrings = resolveSettings(
      {
        schedule: 'rate(30 minutes)',
        regions: 'eu-west-1, us-east-1',
        alertEmails: '["a@example.com","b@example.com"]',
        graceDays: '3',
        reminderHours: '48,12',
        identityMetrics: 'false',
      },
      { region: 'eu-west-1' },
    );
    const typed = resolveSettings(
      {
        schedule: 'rate(30 minutes)',
        regions: ['eu-west-1', 'us-east-1'],
        alertEmails: ['a@example.com', 'b@example.com'],
        graceDays: 3,
        reminderHours: [12, 48],
        identityMetrics: false,
      },
      { region: 'eu-west-1' },
    );

    expect(fromStrings).toEqual(typed);
    expect(typed).toMatchObject({
      scheduleMinutes: 30,
      regions: ['eu-west-1', 'us-east-1'],
      reminderHours: [48, 12],
      identityMetrics: false,
    });
  });

  const bad: [string, DkimSentinelOptions, string][] = [
    [
      'a schedule in words',
      { schedule: 'every hour' },
      'schedule must be rate(N minutes) or rate(N hours) from 15 minutes to 12 hours (e.g. "rate(1 hour)"), got "every hour"',
    ],
    ['a cron schedule', { schedule: 'cron(0 * * * ? *)' }, 'got "cron(0 * * * ? *)"'],
    ['a schedule too frequent', { schedule: 'rate(5 minutes)' }, 'from 15 minutes to 12 hours'],
    ['a schedule with the wrong plural', { schedule: 'rate(1 hours)' }, 'got "rate(1 hours)"'],
    [
      'a bad region',
      { regions: 'eu-west-1,Ireland' },
      'regions: "Ireland" is not an AWS region name (expected e.g. eu-west-1)',
    ],
    [
      'a bad email',
      { alertEmails: 'ops@example.com,not-an-email' },
      'alertEmails: "not-an-email" is not an email address',
    ],
    [
      'a bad ops email',
      { opsEmails: 'ops@example.com;dns@example.com' },
      'opsEmails: "ops@example.com;dns@example.com" is not an email address',
    ],
    [
      'a Slack workspace without a channel',
      { slackWorkspaceId: 'T0' },
      'slackWorkspaceId and slackChannelId go together',
    ],
    [
      'a lower-case Slack channel',
      { slackWorkspaceId: 'T0', slackChannelId: 'general' },
      'slackChannelId must be a Slack channel ID like C0123ABCD, got "general"',
    ],
    ['a resolver host name', { resolvers: 'dns.google' }, 'resolvers: "dns.google" is not an IP address'],
    ['grace days as words', { graceDays: 'five' }, 'graceDays must be a whole number from 1 to 30, got "five"'],
    [
      'no SES requests at all',
      { sesRequestsPerSecond: 0 },
      'sesRequestsPerSecond must be a whole number from 1 to 50, got 0',
    ],
    [
      'a fractional refresh budget',
      { sesAttributeRefreshPerRun: '2.5' },
      'sesAttributeRefreshPerRun must be a whole number from 0 to 1000, got "2.5"',
    ],
    [
      'a MAIL FROM check that is not a boolean',
      { mailFromCheck: 'off' },
      'mailFromCheck must be true or false, got "off"',
    ],
    ['a DMARC check that is not a boolean', { dmarcCheck: 0 }, 'dmarcCheck must be true or false, got 0'],
    [
      'a reminder after the deadline',
      { graceDays: 2, reminderHours: [72] },
      'reminderHours: 72 is not inside the grace period of 2 days (48 hours)',
    ],
    ['a bad log level', { logLevel: 'LOUD' }, 'logLevel must be one of DEBUG, INFO, WARN, ERROR, got "LOUD"'],
    ['a bad boolean', { encryptTopic: 'yes' }, 'encryptTopic must be true or false, got "yes"'],
    [
      'a list that is not a list',
      { ignoreIdentities: '[broken' },
      'ignoreIdentities must be a list (a JSON array or comma-separated), got "[broken"',
    ],
    ['repair without the Route 53 check', { route53: false, autoRepair: true }, 'autoRepair needs the Route 53 check'],
    [
      'a bad hosted zone ID',
      { autoRepair: true, autoRepairZoneIds: 'example.com' },
      'autoRepairZoneIds: "example.com" is not a Route 53 hosted zone ID',
    ],
    ['zone IDs without repair', { autoRepairZoneIds: 'Z0123' }, 'autoRepairZoneIds is set but autoRepair is not'],
    ['an unknown key', { alertEmail: 'a@example.com' } as DkimSentinelOptions, 'unknown setting "alertEmail"'],
    [
      'a setting in PascalCase',
      { AlertEmails: 'a@example.com' } as DkimSentinelOptions,
      'unknown setting "AlertEmails": did you mean "alertEmails"?',
    ],
    [
      'a setting in kebab-case',
      { 'reminder-hours': '24' } as DkimSentinelOptions,
      'unknown setting "reminder-hours": did you mean "reminderHours"?',
    ],
    [
      'a key nothing like a setting',
      { colour: 'blue' } as DkimSentinelOptions,
      'unknown setting "colour": expected one of schedule, regions, alertEmails',
    ],
    [
      'a reminder a 12-hour schedule cannot reach before the deadline',
      { schedule: 'rate(12 hours)', reminderHours: '72,24,6' },
      'reminderHours: 6 cannot be reached with schedule rate(12 hours): each reminder must be at least one schedule period (12 h) before the deadline and from the next reminder; got 72,24,6',
    ],
    [
      'two reminders closer than the schedule period',
      { schedule: 'rate(6 hours)', reminderHours: '72,70,24' },
      'reminderHours: 72 cannot be reached with schedule rate(6 hours)',
    ],
    [
      'a reminder a 90-minute schedule cannot reach',
      { schedule: 'rate(90 minutes)', reminderHours: '24,1' },
      'reminderHours: 1 cannot be reached with schedule rate(90 minutes): each reminder must be at least one schedule period (1.5 h)',
    ],
  ];
  it.each(bad)('rejects %s with one line naming the key and value', (_label, options, message) => {
    expect(() => resolveSettings(options, { region: 'eu-west-1' })).toThrow(ConfigError);
    expect(() => resolveSettings(options, { region: 'eu-west-1' })).toThrow(message);
  });
});

describe('reminder reachability', () => {
  /** Hours left at each run of a schedule with this phase, until the deadline passes. */
  const runsAt = (phase: number, period: number, from: number) => {
    const lefts: number[] = [];
    for (let left = from - phase; left > -period; left -= period) lefts.push(left);
    return lefts;
  };
  /** The thresholds that got their own reminder, the way the lifecycle sends them (nearest of those crossed). */
  const remindersSent = (thresholds: number[], lefts: number[]) => {
    const sent = new Set<number>();
    const own = new Set<number>();
    for (const left of lefts) {
      if (left <= 0) break;
      const due = thresholds.filter((h) => left <= h && !sent.has(h));
      if (due.length > 0) own.add(Math.min(...due));
      for (const h of due) sent.add(h);
    }
    return own;
  };

  it('accepts exactly the settings where every schedule phase sends every reminder', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(15, 30, 60, 90, 120, 180, 360, 720),
        fc.uniqueArray(fc.integer({ min: 1, max: 119 }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (minutes, hours, phaseFraction) => {
          const schedule =
            minutes % 60 === 0 ? `rate(${minutes / 60} hour${minutes === 60 ? '' : 's'})` : `rate(${minutes} minutes)`;
          const period = minutes / 60;
          const thresholds = [...hours].sort((a, b) => b - a);
          let accepted = true;
          try {
            resolveSettings({ schedule, reminderHours: hours }, { region: 'eu-west-1' });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            accepted = false;
          }
          // A reminder is missed only if a run lands just at or below a window's lower edge: try those
          // phases (a run exactly at each threshold and at the deadline) and a random one.
          const from = 121;
          const edges = [...thresholds, 0].map((h) => (((from - h) % period) + period) % period);
          const phases = [phaseFraction * period, ...edges];
          const allSent = phases.every(
            (phase) => remindersSent(thresholds, runsAt(phase, period, from)).size === thresholds.length,
          );
          expect(accepted).toBe(allSent);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts the defaults with the slowest schedule that reaches them', () => {
    expect(resolveSettings({ schedule: 'rate(6 hours)' }, { region: 'eu-west-1' }).reminderHours).toEqual([72, 24, 6]);
  });
});

describe('context values', () => {
  it('fails synth on a mistyped context key instead of ignoring it', () => {
    expect(() => synthTemplate({}, { context: { alertEmail: 'a@example.com' } })).toThrow(
      'unknown setting "alertEmail"',
    );
  });

  it.each([
    ['AlertEmails', 'alertEmails'],
    ['alert-emails', 'alertEmails'],
    ['ALERT_EMAILS', 'alertEmails'],
    ['encrypt-topic', 'encryptTopic'],
  ])('fails synth on the context key %s, naming %s', (key, meant) => {
    expect(() => synthTemplate({}, { context: { [key]: 'x' } })).toThrow(
      `unknown setting "${key}": did you mean "${meant}"?`,
    );
  });

  it("leaves CDK's own and other tools' context keys alone", () => {
    expect(() =>
      synthTemplate(
        {},
        {
          context: {
            'cli-telemetry': false,
            '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
            'aws:cdk:enable-path-metadata': true,
            'acknowledged-issue-numbers': [1234],
            'my-team:owner': 'dns',
          },
        },
      ),
    ).not.toThrow();
  });

  it('reads settings from context', () => {
    const { stack } = synthTemplate({}, { context: { schedule: 'rate(2 hours)', alertEmails: 'a@example.com' } });

    expect(stack.sentinel.settings).toMatchObject({ scheduleMinutes: 120, alertEmails: ['a@example.com'] });
  });
});
