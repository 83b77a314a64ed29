import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEMO_NOW, type DemoWorld, startDemoWorld } from '../../bin/demo/demo-world';
import { DnsProber } from '../../lambda/adapters/dns/dkim-dns-prober';
import { DnsTransport } from '../../lambda/adapters/dns/dns-transport';
import { IdentitiesFileSource } from '../../lambda/adapters/identities-file';
import { checkDkim } from '../../lambda/check-dkim';
import type { IdentityReport } from '../../lambda/domain/assess-identity';
import { sesClock } from '../../lambda/domain/lifecycle';
import { type NotificationView, renderDigest, renderIdentityAlert } from '../../lambda/domain/render-alert';
import { renderJson, renderText } from '../../lambda/domain/render-report';
import { expectGolden } from '../support/golden';

const NOW = Date.parse(DEMO_NOW);
const CONTEXT = { account: '123456789012', graceDays: 5 };
let world: DemoWorld;
let reports: readonly IdentityReport[];

/** The demo world listens on a free port: the port is the only thing that varies between runs. */
const stable = (text: string) => text.replaceAll(`:${world.port}`, ':PORT').replaceAll(`-p ${world.port}`, '-p PORT');

function viewOf(report: IdentityReport): NotificationView {
  const clock = sesClock(report, NOW);
  return {
    stage: 'DETECTED',
    incidentId: '2026-11-23T09:00:00.000Z',
    ...(clock?.deadline
      ? {
          phase: clock.kind === 'SETUP' ? 'SETUP_BLOCKED' : 'COUNTDOWN',
          deadline: clock.deadline,
          hoursLeft: clock.hoursLeft,
          deadlineKind: clock.kind,
          clockStart: clock.clockStart,
        }
      : { phase: 'AT_RISK' }),
  };
}

beforeAll(async () => {
  for (let attempt = 0; ; attempt++) {
    try {
      world = await startDemoWorld(20_000 + Math.floor(Math.random() * 40_000));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw error;
    }
  }
  const prober = new DnsProber(new DnsTransport({ timeoutMs: 500 }), {
    resolvers: world.resolvers,
    authoritativePort: world.port,
    ipv6: false,
  });
  const source = new IdentitiesFileSource(join(__dirname, '..', '..', 'bin', 'demo', 'identities.json'), undefined);
  reports = (await checkDkim(source, prober)).identities;
});
afterAll(async () => {
  await world?.stop();
});

const IDENTITIES = [
  ['moved', 'moved.example'],
  ['typo', 'typo.example'],
  ['doubled', 'doubled.example'],
  ['underscore', 'underscore.example'],
  ['appended', 'appended.example'],
  ['swapped', 'swapped.example'],
] as const;

describe('golden reports (both incidents and each near miss, in every medium)', () => {
  it.each(IDENTITIES)('%s: text, JSON, email, Slack and Chatbot', (file, identity) => {
    const report = reports.find((r) => r.identity === identity && r.region === 'eu-west-1');
    if (!report) throw new Error(`${identity} is not in the demo`);
    const alert = renderIdentityAlert(report, CONTEXT, viewOf(report));

    expectGolden(`${file}.txt`, stable(renderText([report], [], { colour: false, width: 100, now: NOW })));
    expectGolden(`${file}.json.golden`, stable(renderJson([report], [], NOW)));
    expectGolden(`${file}.email.txt`, stable(`Subject: ${alert.subject}\n\n${alert.text}`));
    expectGolden(`${file}.slack.json.golden`, stable(JSON.stringify(alert.slack, null, 2)));
    expectGolden(`${file}.chatbot.json.golden`, stable(JSON.stringify(alert.chatbot, null, 2)));
  });

  it.each([
    ['newsletter', 'newsletter.example'],
    ['shop', 'shop.example'],
  ])('%s (custom MAIL FROM, DKIM fine): text and JSON', (file, identity) => {
    const report = reports.find((r) => r.identity === identity);
    if (!report) throw new Error(`${identity} is not in the demo`);

    expectGolden(`${file}.txt`, stable(renderText([report], [], { colour: false, width: 100, now: NOW })));
    expectGolden(`${file}.json.golden`, stable(renderJson([report], [], NOW)));
  });

  it('digest: every identity with its top cause and hours left', () => {
    const items = reports.filter((r) => r.health !== 'HEALTHY').map((report) => ({ report, view: viewOf(report) }));
    const digest = renderDigest(items, CONTEXT);

    expectGolden('digest.email.txt', stable(`Subject: ${digest.subject}\n\n${digest.text}`));
    expectGolden('digest.slack.json.golden', stable(JSON.stringify(digest.slack, null, 2)));
  });
});
