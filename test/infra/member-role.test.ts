import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DkimMemberRoleStack } from '../../lib/member-role-stack';
import { synthTemplate, testApp } from './synth';
import { type CfnTemplate, ENV, TemplateResolver } from './template-access';

const MEMBER = '111111111111';
const ORG_ID = 'o-abcdefghij';

type Json = unknown;
interface MemberTemplate {
  Parameters: Record<string, { Default?: string; NoEcho?: boolean; AllowedValues?: string[] }>;
  Conditions: Record<string, Json>;
  Rules: Record<string, { Assertions: { Assert: Json }[] }>;
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, Json> }>;
}

function memberTemplate(roleName?: string): MemberTemplate {
  const stack = new DkimMemberRoleStack(testApp(), 'Member', roleName ? { roleName } : {});
  return Template.fromStack(stack).toJSON() as MemberTemplate;
}

/** CloudFormation's evaluation of the template with these parameters in the member account. */
class Deployment {
  constructor(
    private readonly template: MemberTemplate,
    private readonly parameters: Record<string, string>,
  ) {}

  value(name: string): string {
    if (name === 'AWS::AccountId') return MEMBER;
    if (name === 'AWS::Partition') return 'aws';
    const given = this.parameters[name] ?? this.template.Parameters[name]?.Default;
    if (given === undefined) throw new Error(`parameter ${name} has no value`);
    return given;
  }

  condition(name: string): boolean {
    return this.evaluate(this.template.Conditions[name]) as boolean;
  }

  /** Every rule assertion holds (else CloudFormation refuses the stack). */
  rulesHold(): boolean {
    return Object.values(this.template.Rules).every((rule) => rule.Assertions.every((a) => this.evaluate(a.Assert)));
  }

  evaluate(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.evaluate(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, Json>);
    const [first] = entries;
    if (entries.length === 1 && first) {
      const [fn, arg] = first;
      if (fn === 'Ref') return arg === 'AWS::NoValue' ? NO_VALUE : this.value(String(arg));
      if (fn === 'Condition') return this.condition(String(arg));
      if (fn === 'Fn::Equals') {
        const [a, b] = (arg as Json[]).map((v) => this.evaluate(v));
        return a === b;
      }
      if (fn === 'Fn::Not') return !this.evaluate((arg as Json[])[0]);
      if (fn === 'Fn::And') return (arg as Json[]).every((v) => this.evaluate(v));
      if (fn === 'Fn::Or') return (arg as Json[]).some((v) => this.evaluate(v));
      if (fn === 'Fn::If') {
        const [name, yes, no] = arg as [string, Json, Json];
        return this.evaluate(this.condition(name) ? yes : no);
      }
      if (fn === 'Fn::Join') {
        const [separator, parts] = arg as [string, Json[]];
        return (this.evaluate(parts) as Json[]).join(separator);
      }
      if (fn.startsWith('Fn::')) throw new Error(`the test does not know ${fn}`);
    }
    return Object.fromEntries(
      entries.map(([k, v]) => [k, this.evaluate(v)] as const).filter(([, v]) => v !== NO_VALUE),
    );
  }

  /** The resources CloudFormation creates (their Condition holds). */
  resources(type: string) {
    return Object.entries(this.template.Resources).filter(
      ([, r]) => r.Type === type && (!r.Condition || this.condition(r.Condition)),
    );
  }
}
const NO_VALUE = Symbol('AWS::NoValue');

/** The central scanner role (from the central template) asking to assume the member role. */
async function assume(
  deployment: Deployment,
  request: { principal?: string; principalOrgId?: string; externalId?: string },
): Promise<string> {
  const central = new TemplateResolver(
    synthTemplate({ organization: true, organizationId: ORG_ID, externalId: 'ext-1' }).template.toJSON() as CfnTemplate,
  );
  const scannerRole = central.ofType('AWS::IAM::Role').find(([id]) => id.includes('ScannerRole'))?.[0] as string;
  const principal = request.principal ?? central.arn(scannerRole);
  const [[, role]] = deployment.resources('AWS::IAM::Role') as unknown as [
    [string, { Properties: Record<string, Json> }],
  ];
  const trust = deployment.evaluate(role.Properties.AssumeRolePolicyDocument) as never;
  const result = await runSimulation(
    {
      request: {
        principal,
        action: 'sts:AssumeRole',
        resource: { resource: `arn:aws:iam::${MEMBER}:role/${role.Properties.RoleName}`, accountId: MEMBER },
        contextVariables: {
          'aws:PrincipalArn': principal,
          'aws:PrincipalAccount': principal.split(':')[4] as string,
          'aws:PrincipalOrgID': request.principalOrgId ?? ORG_ID,
          'aws:ResourceOrgID': ORG_ID,
          'aws:SecureTransport': 'true',
          ...(request.externalId ? { 'sts:ExternalId': request.externalId } : {}),
        },
      },
      identityPolicies: central.rolePolicies(scannerRole).map((policy, i) => ({ name: `scanner${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe('the member role stack', () => {
  it('needs no CDK bootstrap and takes everything account-specific as a parameter', () => {
    const template = memberTemplate();

    expect(Object.keys(template.Parameters).sort()).toEqual([
      'AllowRoute53Repair',
      'ExternalId',
      'OrganizationId',
      'ScannerRoleArn',
    ]);
    expect(template.Parameters.ExternalId?.NoEcho).toBe(true);
    expect(template.Parameters.AllowRoute53Repair).toMatchObject({
      Default: 'false',
      AllowedValues: ['false', 'true'],
    });
    expect(JSON.stringify(template)).not.toContain('BootstrapVersion');
    expect(JSON.stringify(template)).not.toContain('cdk-hnb659fds');
  });

  it('refuses a trust on the role ARN alone: OrganizationId or ExternalId is required', () => {
    const template = memberTemplate();
    const scanner = { ScannerRoleArn: 'arn:aws:iam::123456789012:role/x' };

    expect(new Deployment(template, scanner).rulesHold()).toBe(false);
    expect(new Deployment(template, { ...scanner, OrganizationId: ORG_ID }).rulesHold()).toBe(true);
    expect(new Deployment(template, { ...scanner, ExternalId: 'ext-1' }).rulesHold()).toBe(true);
  });

  it('grants exactly the SES and Route 53 reads, and the DKIM CNAME repair only where AllowRoute53Repair=true', () => {
    const template = memberTemplate();
    const actions = (parameters: Record<string, string>) =>
      new Deployment(template, {
        ScannerRoleArn: 'arn:aws:iam::123456789012:role/x',
        OrganizationId: ORG_ID,
        ...parameters,
      })
        .resources('AWS::IAM::Policy')
        .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement)
        .flatMap((s) => [s.Action].flat())
        .sort();
    const reads = [
      'route53:GetHostedZone',
      'route53:ListHostedZonesByName',
      'route53:ListResourceRecordSets',
      'ses:GetEmailIdentity',
      'ses:GetIdentityDkimAttributes',
      'ses:GetIdentityMailFromDomainAttributes',
      'ses:ListEmailIdentities',
      'ses:ListIdentities',
    ];

    expect(actions({})).toEqual(reads);
    expect(actions({ AllowRoute53Repair: 'true' })).toEqual([...reads, 'route53:ChangeResourceRecordSets'].sort());
    const repair = Object.values(template.Resources).find((r) => r.Condition)?.Properties.PolicyDocument as {
      Statement: { Condition: unknown }[];
    };
    expect(repair.Statement[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
      },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`${'?'.repeat(32)}._domainkey.*`],
      },
    });
  });

  it('is named like the central memberRoleName', () => {
    const role = Object.values(memberTemplate('dkim-reader').Resources).find((r) => r.Type === 'AWS::IAM::Role');

    expect(role?.Properties.RoleName).toBe('dkim-reader');
  });

  it('passes cdk-nag (AwsSolutions)', () => {
    const app = testApp();
    new DkimMemberRoleStack(app, 'Member');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).not.toThrow();
  });
});

describe('the member role trust, decided by an IAM simulator against the central scanner role', () => {
  const template = memberTemplate();
  const scannerArn = () => {
    const central = new TemplateResolver(
      synthTemplate({ organization: true, organizationId: ORG_ID }).template.toJSON() as CfnTemplate,
    );
    return central.arn(central.ofType('AWS::IAM::Role').find(([id]) => id.includes('ScannerRole'))?.[0] as string);
  };

  it('lets the central scanner role of the organization assume it, and nobody else', async () => {
    const deployment = new Deployment(template, { ScannerRoleArn: scannerArn(), OrganizationId: ORG_ID });

    expect(await assume(deployment, {})).toBe('Allowed');
    // Another role of the central account, and the right role name from outside the organization.
    expect(await assume(deployment, { principal: `arn:aws:iam::${ENV.account}:role/SomethingElse` })).not.toBe(
      'Allowed',
    );
    expect(await assume(deployment, { principalOrgId: 'o-zzzzzzzzzz' })).not.toBe('Allowed');
  });

  it('with an ExternalId, requires it', async () => {
    const deployment = new Deployment(template, { ScannerRoleArn: scannerArn(), ExternalId: 'ext-1' });

    expect(await assume(deployment, { externalId: 'ext-1' })).toBe('Allowed');
    expect(await assume(deployment, {})).not.toBe('Allowed');
    expect(await assume(deployment, { externalId: 'ext-2' })).not.toBe('Allowed');
  });

  it('is refused when the scanner may not assume it: the central policy confines sts:AssumeRole to the role name', async () => {
    const renamed = new Deployment(memberTemplate('other-name'), {
      ScannerRoleArn: scannerArn(),
      OrganizationId: ORG_ID,
    });

    expect(await assume(renamed, {})).not.toBe('Allowed');
  });
});
