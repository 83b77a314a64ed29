import { Aws, CfnCondition, Fn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEFAULT_MEMBER_ROLE_NAME } from './config';
import { dkimRepairStatement } from './scanner';

export interface DkimMemberRoleProps {
  /** The central scanner's role (the central stack's `ScannerRoleArn` output): the only principal trusted. */
  readonly scannerRoleArn: string;
  /**
   * The organization the central scanner's account belongs to (`o-...`), checked with aws:PrincipalOrgID;
   * an empty string: not checked (then `externalId` must be given).
   */
  readonly organizationId: string;
  /** The external ID the central scanner sends (`externalId`); an empty string: none required. */
  readonly externalId: string;
  /** `'true'` lets the scanner UPSERT Easy DKIM CNAMEs in this account's hosted zones (may be a parameter). */
  readonly allowRoute53Repair: string;
  /** Must equal the central stack's `memberRoleName`. @default ses-dkim-sentinel-member */
  readonly roleName?: string;
}

/**
 * The read-only role the central scanner assumes in a member account: exactly the SES reads (v1 batch
 * reads, v2 identities, the MAIL FROM attributes) and the Route 53 reads of the DKIM check; the DKIM
 * CNAME repair only when `allowRoute53Repair` is `'true'`. Trusted by one principal: the central scanner
 * role (aws:PrincipalArn), and additionally by its organization (aws:PrincipalOrgID), its external ID, or
 * both. The inputs may be CloudFormation parameters: the conditions are evaluated at deploy time, so one
 * template serves every account of a stack set.
 */
export class DkimMemberRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: DkimMemberRoleProps) {
    super(scope, id);
    const partition = Stack.of(this).partition;
    const hasOrganizationId = new CfnCondition(this, 'HasOrganizationId', {
      expression: Fn.conditionNot(Fn.conditionEquals(props.organizationId, '')),
    });
    const hasExternalId = new CfnCondition(this, 'HasExternalId', {
      expression: Fn.conditionNot(Fn.conditionEquals(props.externalId, '')),
    });
    const repairAllowed = new CfnCondition(this, 'Route53RepairAllowed', {
      expression: Fn.conditionEquals(props.allowRoute53Repair, 'true'),
    });

    // `Principal: *` narrowed to one role ARN (and its organization or external ID), not the role as the
    // principal: a trust naming a role breaks silently when that role is recreated, this one does not.
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName ?? DEFAULT_MEMBER_ROLE_NAME,
      description: 'SES DKIM sentinel member role: SES and Route 53 reads for the central scanner',
      assumedBy: new iam.AnyPrincipal().withConditions({
        ArnLike: { 'aws:PrincipalArn': props.scannerRoleArn },
        StringEquals: {
          'aws:PrincipalOrgID': Fn.conditionIf(hasOrganizationId.logicalId, props.organizationId, Aws.NO_VALUE),
          'sts:ExternalId': Fn.conditionIf(hasExternalId.logicalId, props.externalId, Aws.NO_VALUE),
        },
      }),
    });

    const read = new iam.Policy(this, 'Read', {
      statements: [
        // Neither listing nor the v1 batch reads support resource-level permissions.
        new iam.PolicyStatement({
          sid: 'SesRead',
          actions: [
            'ses:ListIdentities',
            'ses:GetIdentityDkimAttributes',
            'ses:GetIdentityMailFromDomainAttributes',
            'ses:ListEmailIdentities',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'SesReadIdentity',
          actions: ['ses:GetEmailIdentity'],
          resources: [`arn:${partition}:ses:*:${Aws.ACCOUNT_ID}:identity/*`],
        }),
        new iam.PolicyStatement({
          sid: 'Route53ListZones',
          actions: ['route53:ListHostedZonesByName'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'Route53ReadZones',
          actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
          resources: [`arn:${partition}:route53:::hostedzone/*`],
        }),
      ],
    });
    read.attachToRole(this.role);
    const repair = new iam.Policy(this, 'Route53Repair', {
      statements: [dkimRepairStatement([`arn:${partition}:route53:::hostedzone/*`])],
    });
    repair.attachToRole(this.role);
    // Only in the accounts that opted in (a stack-instance parameter override).
    (repair.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = repairAllowed;

    for (const policy of [read, repair]) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'ses:ListIdentities, ses:ListEmailIdentities, the SES v1 batch reads and route53:ListHostedZonesByName support no resource-level permissions; all are read-only.',
      });
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:*:<AWS::AccountId>:identity/*]',
        reason: 'The scanner reads every SES identity of the account, in every monitored region; read-only.',
      });
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::hostedzone/*]',
        reason:
          'The zones named like each SES domain are found at run time; read-only, and the opt-in repair may only UPSERT Easy DKIM CNAMEs.',
      });
    }
  }
}
