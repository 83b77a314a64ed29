import { describe, expect, it } from 'vitest';
import { synthTemplate } from './synth';
import { type CfnTemplate, decide, TemplateResolver } from './template-access';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz234567'; // 32 characters, like an Easy DKIM token

/** How IAM decides the scanner's ChangeResourceRecordSets call with these changes. */
async function repairDecision(
  t: TemplateResolver,
  changes: { names: string[]; actions?: string[]; types?: string[] },
  zone = 'Z0123456789ABC',
) {
  const [functionId, fn] = t.ofType('AWS::Lambda::Function')[0] ?? [];
  const roleId = t.findByArn('AWS::IAM::Role', t.resolveString(fn?.Properties?.Role)) as string;
  return decide({
    pair: `function ${functionId} repairs ${changes.names.join(', ')}`,
    principal: t.arn(roleId),
    action: 'route53:ChangeResourceRecordSets',
    resourceArn: `arn:aws:route53:::hostedzone/${zone}`,
    identityPolicies: t.rolePolicies(roleId),
    context: {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': changes.names,
      'route53:ChangeResourceRecordSetsActions': changes.actions ?? changes.names.map(() => 'UPSERT'),
      'route53:ChangeResourceRecordSetsRecordTypes': changes.types ?? changes.names.map(() => 'CNAME'),
    },
  });
}

describe('the Route 53 repair permission', () => {
  const repairing = new TemplateResolver(
    synthTemplate({ autoRepair: true, autoRepairZoneIds: 'Z0123456789ABC' }).template.toJSON() as CfnTemplate,
  );

  it("allows UPSERTs of SES's token CNAMEs", async () => {
    expect(await repairDecision(repairing, { names: [`${TOKEN}._domainkey.example.com`] })).toBe('Allowed');
    expect(
      await repairDecision(repairing, {
        names: [`${TOKEN}._domainkey.example.com`, `${TOKEN.replace('a', 'b')}._domainkey.example.com`],
      }),
    ).toBe('Allowed');
  });

  it.each([
    ["another provider's selector", { names: ['selector1._domainkey.example.com'] }],
    ['a batch that slips one in', { names: [`${TOKEN}._domainkey.example.com`, 'selector1._domainkey.example.com'] }],
    ['a token one character short', { names: [`${TOKEN.slice(1)}._domainkey.example.com`] }],
    ['a name outside _domainkey', { names: [`${TOKEN}.example.com`] }],
    ['the MX record', { names: ['example.com'], types: ['MX'] }],
    ['a DELETE', { names: [`${TOKEN}._domainkey.example.com`], actions: ['DELETE'] }],
    ['a TXT record', { names: [`${TOKEN}._domainkey.example.com`], types: ['TXT'] }],
  ])('denies %s', async (_label, changes) => {
    expect(await repairDecision(repairing, changes)).toBe('ImplicitlyDenied');
  });

  it('denies zones not listed in autoRepairZoneIds, and everything without autoRepair', async () => {
    const name = `${TOKEN}._domainkey.example.com`;
    expect(await repairDecision(repairing, { names: [name] }, 'ZOTHERZONE')).toBe('ImplicitlyDenied');
    const readOnly = new TemplateResolver(synthTemplate().template.toJSON() as CfnTemplate);
    expect(await repairDecision(readOnly, { names: [name] })).toBe('ImplicitlyDenied');
  });
});
