import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { STATE_TABLE } from '../lambda/contract';

/**
 * Per-identity alert lifecycle state: on-demand, point-in-time recovery, and a TTL so identities that
 * disappeared from SES are forgotten. Losing it would only re-announce open incidents, so the stack may
 * delete it on teardown.
 */
export class DkimState extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: STATE_TABLE.timeToLive,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
