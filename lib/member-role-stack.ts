import { BootstraplessSynthesizer, CfnOutput, CfnParameter, CfnRule, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_MEMBER_ROLE_NAME } from './config';
import { DkimMemberRole } from './member-role';

export interface DkimMemberRoleStackProps extends StackProps {
  /** Must equal the central stack's `memberRoleName`. @default ses-dkim-sentinel-member */
  readonly roleName?: string;
}

/**
 * The stack to deploy into every member account, with CloudFormation StackSets (service-managed, auto
 * deployment) and once directly in the management account, which StackSets never deploy to. Everything
 * account-specific is a parameter, and it needs no CDK bootstrap: one template for the whole organization.
 */
export class DkimMemberRoleStack extends Stack {
  readonly memberRole: DkimMemberRole;

  constructor(scope: Construct, id: string, props: DkimMemberRoleStackProps = {}) {
    super(scope, id, {
      description: 'ses-dkim-sentinel member role: lets the central DKIM scanner read SES and Route 53 here',
      // StackSet instances run in accounts that were never bootstrapped: no bootstrap version check, no assets.
      synthesizer: new BootstraplessSynthesizer(),
      ...props,
    });
    const parameter = (id: string, options: ConstructorParameters<typeof CfnParameter>[2]) => {
      const p = new CfnParameter(this, id, options);
      p.overrideLogicalId(id);
      return p;
    };
    const scannerRoleArn = parameter('ScannerRoleArn', {
      type: 'String',
      description: "The central stack's ScannerRoleArn output: the only role that may assume the member role",
      allowedPattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$',
      constraintDescription: 'an IAM role ARN like arn:aws:iam::111111111111:role/SesDkimSentinel-...',
    });
    const organizationId = parameter('OrganizationId', {
      type: 'String',
      default: '',
      description: 'The organization ID (o-...): the scanner must belong to it. Give this, ExternalId, or both',
      allowedPattern: '^$|^o-[a-z0-9]{10,32}$',
      constraintDescription: 'empty, or an AWS Organizations ID like o-a1b2c3d4e5',
    });
    const externalId = parameter('ExternalId', {
      type: 'String',
      default: '',
      noEcho: true,
      description: "The central stack's externalId, when it sets one. Give this, OrganizationId, or both",
      allowedPattern: '^$|^[\\w+=,.@:/-]{2,1224}$',
    });
    const allowRoute53Repair = parameter('AllowRoute53Repair', {
      type: 'String',
      default: 'false',
      allowedValues: ['false', 'true'],
      description: "true: the scanner may UPSERT Easy DKIM CNAMEs in this account's hosted zones (autoRepair)",
    });
    // A trust on the role ARN alone would accept a lookalike role in another organization's account.
    new CfnRule(this, 'TrustNeedsOrganizationOrExternalId', {
      assertions: [
        {
          assert: Fn.conditionNot(
            Fn.conditionAnd(
              Fn.conditionEquals(organizationId.valueAsString, ''),
              Fn.conditionEquals(externalId.valueAsString, ''),
            ),
          ),
          assertDescription:
            'Give OrganizationId (o-...) or ExternalId, or both: the trust needs more than the role ARN',
        },
      ],
    });
    this.memberRole = new DkimMemberRole(this, 'MemberRole', {
      scannerRoleArn: scannerRoleArn.valueAsString,
      organizationId: organizationId.valueAsString,
      externalId: externalId.valueAsString,
      allowRoute53Repair: allowRoute53Repair.valueAsString,
      roleName: props.roleName ?? DEFAULT_MEMBER_ROLE_NAME,
    });
    new CfnOutput(this, 'MemberRoleArn', { value: this.memberRole.role.roleArn });
  }
}
