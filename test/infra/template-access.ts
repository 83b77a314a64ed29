/**
 * Who may do what to whom, read from a synthesized template and decided by an IAM policy simulator
 * (`@cloud-copilot/iam-simulate`) rather than by matching strings: every sender-to-target pair of the stack
 * (alarm → topic → key, schedule → function, function → table/topic/queue) as one list of access checks.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

/** The fixed deployment the template is evaluated in. */
export const ENV = { account: '123456789012', region: 'eu-west-1', partition: 'aws', stackName: 'Test' } as const;

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
export interface CfnTemplate {
  readonly Resources: Record<string, Resource>;
}
interface PolicyDocument {
  Version?: string;
  Statement: Record<string, Json>[];
}

/** One request a sender makes to a target, with the policies that decide it. */
export interface AccessCheck {
  /** A readable name for failure messages: `alarm Test-Sentinel-Heartbeat -> topic ...`. */
  readonly pair: string;
  /** A service principal (`cloudwatch.amazonaws.com`) or an IAM role ARN. */
  readonly principal: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly resourcePolicy?: PolicyDocument;
  readonly identityPolicies?: readonly PolicyDocument[];
  readonly context: Readonly<Record<string, string | string[]>>;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': ENV.partition,
  'AWS::Region': ENV.region,
  'AWS::AccountId': ENV.account,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': ENV.stackName,
};

/** The physical name CloudFormation would give: the name property when set, else the logical ID. */
function physicalName(logicalId: string, resource: Resource): string {
  const nameProperty: Record<string, string> = {
    'AWS::SNS::Topic': 'TopicName',
    'AWS::SQS::Queue': 'QueueName',
    'AWS::Lambda::Function': 'FunctionName',
    'AWS::DynamoDB::Table': 'TableName',
    'AWS::IAM::Role': 'RoleName',
    'AWS::Events::Rule': 'Name',
    'AWS::Logs::LogGroup': 'LogGroupName',
    'AWS::CloudWatch::Alarm': 'AlarmName',
    'AWS::CloudWatch::Dashboard': 'DashboardName',
    'AWS::StepFunctions::StateMachine': 'StateMachineName',
  };
  const key = nameProperty[resource.Type];
  const given = key ? resource.Properties?.[key] : undefined;
  return given === undefined ? logicalId : String(given);
}

/** Resolves Ref, Fn::GetAtt, Fn::Join and the pseudo parameters of a template in {@link ENV}. */
export class TemplateResolver {
  constructor(readonly template: CfnTemplate) {}

  resource(logicalId: string): Resource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    return resource;
  }

  /** Every resource of one type, by logical ID. */
  ofType(type: string): [string, Resource][] {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  arn(logicalId: string): string {
    const r = this.resource(logicalId);
    const name = physicalName(logicalId, r);
    const { partition: p, region, account } = ENV;
    switch (r.Type) {
      case 'AWS::SNS::Topic':
        return `arn:${p}:sns:${region}:${account}:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:${p}:sqs:${region}:${account}:${name}`;
      case 'AWS::Lambda::Function':
        return `arn:${p}:lambda:${region}:${account}:function:${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:${p}:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::KMS::Key':
        return `arn:${p}:kms:${region}:${account}:key/${logicalId.toLowerCase()}`;
      case 'AWS::IAM::Role':
        return `arn:${p}:iam::${account}:role/${name}`;
      case 'AWS::Events::Rule':
        return `arn:${p}:events:${region}:${account}:rule/${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${p}:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::CloudWatch::Alarm':
        return `arn:${p}:cloudwatch:${region}:${account}:alarm:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${p}:states:${region}:${account}:stateMachine:${name}`;
      default:
        throw new Error(`the test resolver knows no ARN for ${r.Type} (${logicalId})`);
    }
  }

  private ref(logicalId: string): string {
    const pseudo = PSEUDO[logicalId];
    if (pseudo !== undefined) return pseudo;
    const r = this.resource(logicalId);
    switch (r.Type) {
      case 'AWS::SNS::Topic':
      case 'AWS::StepFunctions::StateMachine':
        return this.arn(logicalId);
      case 'AWS::SQS::Queue':
        return `https://sqs.${ENV.region}.amazonaws.com/${ENV.account}/${physicalName(logicalId, r)}`;
      case 'AWS::KMS::Key':
        return logicalId.toLowerCase();
      default:
        return physicalName(logicalId, r);
    }
  }

  private getAtt(logicalId: string, attribute: string): string {
    const r = this.resource(logicalId);
    if (attribute === 'Arn' || (r.Type === 'AWS::SNS::Topic' && attribute === 'TopicArn')) return this.arn(logicalId);
    if (['TopicName', 'QueueName'].includes(attribute)) return physicalName(logicalId, r);
    throw new Error(`the test resolver knows no ${attribute} of ${r.Type} (${logicalId})`);
  }

  /** The value with every intrinsic resolved; throws on one it does not know (so nothing passes unread). */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, Json>);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      const [fn, arg] = first;
      if (fn === 'Ref') return this.ref(String(arg));
      if (fn === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(String(id), String(attribute));
      }
      if (fn === 'Fn::Join') {
        const [separator, parts] = arg as [string, Json[]];
        return (this.resolve(parts) as Json[]).map(String).join(separator);
      }
      if (fn === 'Fn::Split') {
        const [separator, text] = arg as [string, Json];
        return this.resolveString(text).split(separator);
      }
      if (fn === 'Fn::Select') {
        const [index, list] = arg as [number, Json];
        return (this.resolve(list) as Json[])[Number(index)];
      }
      throw new Error(`the test resolver does not know ${fn}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  resolveString(value: Json): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  /** The logical ID of the resource of this type whose ARN (or Ref) resolves to the value. */
  findByArn(type: string, arnOrRef: string): string | undefined {
    return this.ofType(type).find(([id]) => this.arn(id) === arnOrRef || this.ref(id) === arnOrRef)?.[0];
  }

  policy(document: Json): PolicyDocument {
    return this.resolve(document) as PolicyDocument;
  }

  /** The topic's resource policy: the AWS::SNS::TopicPolicy that lists it (none: SNS's default). */
  topicPolicy(topicId: string): PolicyDocument | undefined {
    const policies = this.ofType('AWS::SNS::TopicPolicy').filter(([, p]) =>
      (this.resolve(p.Properties?.Topics) as string[]).includes(this.arn(topicId)),
    );
    if (policies.length > 1) throw new Error(`topic ${topicId} has ${policies.length} topic policies`);
    const [found] = policies;
    return found ? this.policy(found[1].Properties?.PolicyDocument) : undefined;
  }

  queuePolicy(queueId: string): PolicyDocument | undefined {
    const url = this.ref(queueId);
    const [found] = this.ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      (this.resolve(p.Properties?.Queues) as string[]).includes(url),
    );
    return found ? this.policy(found[1].Properties?.PolicyDocument) : undefined;
  }

  keyPolicy(keyId: string): PolicyDocument {
    return this.policy(this.resource(keyId).Properties?.KeyPolicy);
  }

  /** The key encrypting a topic, when it has a customer managed key of this template. */
  topicKey(topicId: string): string | undefined {
    const key = this.resource(topicId).Properties?.KmsMasterKeyId;
    if (key === undefined) return undefined;
    const resolved = this.resolveString(key);
    const keyId = this.findByArn('AWS::KMS::Key', resolved);
    if (!keyId) throw new Error(`topic ${topicId} is encrypted with ${resolved}, not a key of this template`);
    return keyId;
  }

  /** A Lambda function's resource policy, assembled from its AWS::Lambda::Permission resources. */
  functionPolicy(functionId: string): PolicyDocument {
    const arn = this.arn(functionId);
    const name = this.ref(functionId);
    const Statement = this.ofType('AWS::Lambda::Permission')
      .map(([, p]) => this.resolve(p.Properties) as Record<string, string>)
      .filter((p) => p.FunctionName === arn || p.FunctionName === name)
      .map((p) => {
        const Condition: Record<string, Record<string, string>> = {};
        if (p.SourceArn) Condition.ArnLike = { 'aws:SourceArn': p.SourceArn };
        if (p.SourceAccount) Condition.StringEquals = { 'aws:SourceAccount': p.SourceAccount };
        const principal = String(p.Principal);
        return {
          Effect: 'Allow',
          Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
          Action: p.Action,
          Resource: arn,
          ...(Object.keys(Condition).length > 0 ? { Condition } : {}),
        };
      });
    return { Version: '2012-10-17', Statement };
  }

  /** Every identity policy of a role: inline ones and the AWS::IAM::Policy resources attached to it. */
  rolePolicies(roleId: string): PolicyDocument[] {
    const role = this.resource(roleId);
    if (role.Properties?.ManagedPolicyArns) throw new Error(`role ${roleId} has managed policies the test cannot read`);
    const inline = ((role.Properties?.Policies ?? []) as { PolicyDocument: Json }[]).map((p) =>
      this.policy(p.PolicyDocument),
    );
    const name = this.ref(roleId);
    const attached = this.ofType('AWS::IAM::Policy')
      .filter(([, p]) => (this.resolve(p.Properties?.Roles) as string[]).includes(name))
      .map(([, p]) => this.policy(p.Properties?.PolicyDocument));
    return [...inline, ...attached];
  }
}

/** How IAM decides one check: `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied`. */
export async function decide(check: AccessCheck): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: check.principal,
        action: check.action,
        resource: { resource: check.resourceArn, accountId: ENV.account },
        contextVariables: { ...check.context },
      },
      identityPolicies: (check.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: check.resourcePolicy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${check.pair}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const SECURE = { 'aws:SecureTransport': 'true' };

/** The checks of a service publishing to a topic on behalf of `sourceArn`: sns:Publish, then the key. */
export function servicePublishChecks(
  t: TemplateResolver,
  topicId: string,
  service: string,
  sourceArn: string,
  sourceAccount: string,
  pair: string,
): AccessCheck[] {
  const context = { ...SECURE, 'aws:SourceAccount': sourceAccount, 'aws:SourceArn': sourceArn };
  const checks: AccessCheck[] = [
    {
      pair: `${pair} (sns:Publish)`,
      principal: service,
      action: 'sns:Publish',
      resourceArn: t.arn(topicId),
      resourcePolicy: t.topicPolicy(topicId),
      context,
    },
  ];
  const keyId = t.topicKey(topicId);
  if (keyId) {
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      checks.push({
        pair: `${pair} (${action} on the topic's key)`,
        principal: service,
        action,
        resourceArn: t.arn(keyId),
        resourcePolicy: t.keyPolicy(keyId),
        context,
      });
    }
  }
  return checks;
}

/** Every alarm action (ALARM, OK, INSUFFICIENT_DATA) as CloudWatch publishing to its topic. */
export function alarmChecks(t: TemplateResolver): AccessCheck[] {
  return t.ofType('AWS::CloudWatch::Alarm').flatMap(([alarmId, alarm]) => {
    const actions = ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((key) =>
      (t.resolve(alarm.Properties?.[key] ?? []) as string[]).map((arn) => ({ key, arn })),
    );
    return actions.flatMap(({ key, arn }) => {
      const topicId = t.findByArn('AWS::SNS::Topic', arn);
      if (!topicId) throw new Error(`alarm ${alarmId} ${key} ${arn} is not a topic of this template`);
      return servicePublishChecks(
        t,
        topicId,
        'cloudwatch.amazonaws.com',
        t.arn(alarmId),
        ENV.account,
        `alarm ${alarmId} ${key} -> topic ${topicId}`,
      );
    });
  });
}

/** EventBridge rules invoking their Lambda targets and sending failures to their dead-letter queues. */
export function ruleChecks(t: TemplateResolver): AccessCheck[] {
  return t.ofType('AWS::Events::Rule').flatMap(([ruleId, rule]) =>
    ((rule.Properties?.Targets ?? []) as Record<string, Json>[]).flatMap((target) => {
      const context = { ...SECURE, 'aws:SourceArn': t.arn(ruleId), 'aws:SourceAccount': ENV.account };
      const checks: AccessCheck[] = [];
      const stateMachineId = t.findByArn('AWS::StepFunctions::StateMachine', t.resolveString(target.Arn));
      if (stateMachineId) checks.push(...startExecutionChecks(t, ruleId, stateMachineId, target.RoleArn, context));
      const functionId = t.findByArn('AWS::Lambda::Function', t.resolveString(target.Arn));
      if (!functionId && !stateMachineId) throw new Error(`rule ${ruleId} targets something the test cannot evaluate`);
      if (functionId)
        checks.push({
          pair: `rule ${ruleId} -> function ${functionId}`,
          principal: 'events.amazonaws.com',
          action: 'lambda:InvokeFunction',
          resourceArn: t.arn(functionId),
          resourcePolicy: t.functionPolicy(functionId),
          context,
        });
      const dlq = (target.DeadLetterConfig as { Arn?: Json } | undefined)?.Arn;
      if (dlq !== undefined) {
        const queueId = t.findByArn('AWS::SQS::Queue', t.resolveString(dlq));
        if (!queueId) throw new Error(`rule ${ruleId}'s dead-letter queue is not a queue of this template`);
        checks.push({
          pair: `rule ${ruleId} dead letters -> queue ${queueId}`,
          principal: 'events.amazonaws.com',
          action: 'sqs:SendMessage',
          resourceArn: t.arn(queueId),
          resourcePolicy: t.queuePolicy(queueId),
          context,
        });
      }
      return checks;
    }),
  );
}

/**
 * What each function's role must reach: the table, topic and secret named in its environment (with the
 * actions the code calls) and its asynchronous-invocation failure destination.
 */
export function functionChecks(t: TemplateResolver): AccessCheck[] {
  return t.ofType('AWS::Lambda::Function').flatMap(([functionId, fn]) => {
    const roleId = t.findByArn('AWS::IAM::Role', t.resolveString(fn.Properties?.Role));
    if (!roleId) throw new Error(`function ${functionId}'s role is not a role of this template`);
    const principal = t.arn(roleId);
    const identityPolicies = t.rolePolicies(roleId);
    const checks: AccessCheck[] = [];
    const environment = ((fn.Properties?.Environment as { Variables?: Record<string, Json> })?.Variables ??
      {}) as Record<string, Json>;
    for (const [variable, value] of Object.entries(environment)) {
      if (typeof value === 'string') continue;
      const resolved = t.resolveString(value);
      const tableId = t.findByArn('AWS::DynamoDB::Table', resolved);
      for (const action of tableId ? ['dynamodb:GetItem', 'dynamodb:PutItem'] : []) {
        checks.push({
          pair: `function ${functionId} (${variable}) -> table ${tableId} (${action})`,
          principal,
          action,
          resourceArn: t.arn(tableId as string),
          identityPolicies,
          context: SECURE,
        });
      }
      if (resolved.startsWith(`arn:${ENV.partition}:secretsmanager:`)) {
        // A secret referenced by name: Secrets Manager appends six random characters to its ARN.
        checks.push({
          pair: `function ${functionId} (${variable}) -> secret (secretsmanager:GetSecretValue)`,
          principal,
          action: 'secretsmanager:GetSecretValue',
          resourceArn: `${resolved}-AbC123`,
          identityPolicies,
          context: SECURE,
        });
      }
      const topicId = t.findByArn('AWS::SNS::Topic', resolved);
      if (topicId) {
        checks.push({
          pair: `function ${functionId} (${variable}) -> topic ${topicId} (sns:Publish)`,
          principal,
          action: 'sns:Publish',
          resourceArn: t.arn(topicId),
          resourcePolicy: t.topicPolicy(topicId),
          identityPolicies,
          context: SECURE,
        });
        const keyId = t.topicKey(topicId);
        for (const action of keyId ? ['kms:GenerateDataKey', 'kms:Decrypt'] : []) {
          checks.push({
            pair: `function ${functionId} -> topic ${topicId}'s key (${action})`,
            principal,
            action,
            resourceArn: t.arn(keyId as string),
            resourcePolicy: t.keyPolicy(keyId as string),
            identityPolicies,
            context: SECURE,
          });
        }
      }
    }
    const fnArn = t.arn(functionId);
    const fnName = t.resolveString({ Ref: functionId });
    for (const [configId, config] of t.ofType('AWS::Lambda::EventInvokeConfig')) {
      const target = t.resolveString(config.Properties?.FunctionName);
      if (target !== fnArn && target !== fnName) continue;
      const destination = (config.Properties?.DestinationConfig as { OnFailure?: { Destination: Json } })?.OnFailure
        ?.Destination;
      if (destination === undefined) continue;
      const queueId = t.findByArn('AWS::SQS::Queue', t.resolveString(destination));
      if (!queueId) throw new Error(`${configId}'s failure destination is not a queue of this template`);
      checks.push({
        pair: `function ${functionId} on failure -> queue ${queueId}`,
        principal,
        action: 'sqs:SendMessage',
        resourceArn: t.arn(queueId),
        resourcePolicy: t.queuePolicy(queueId),
        identityPolicies,
        context: SECURE,
      });
    }
    return checks;
  });
}

/** EventBridge assuming the target role, and that role starting the state machine. */
function startExecutionChecks(
  t: TemplateResolver,
  ruleId: string,
  stateMachineId: string,
  roleArn: Json,
  context: Readonly<Record<string, string>>,
): AccessCheck[] {
  const roleId = t.findByArn('AWS::IAM::Role', t.resolveString(roleArn));
  if (!roleId) throw new Error(`rule ${ruleId}'s target role is not a role of this template`);
  return [
    {
      pair: `rule ${ruleId} assumes role ${roleId}`,
      principal: 'events.amazonaws.com',
      action: 'sts:AssumeRole',
      resourceArn: t.arn(roleId),
      resourcePolicy: t.policy(t.resource(roleId).Properties?.AssumeRolePolicyDocument),
      context,
    },
    {
      pair: `rule ${ruleId} (role ${roleId}) -> state machine ${stateMachineId} (states:StartExecution)`,
      principal: t.arn(roleId),
      action: 'states:StartExecution',
      resourceArn: t.arn(stateMachineId),
      identityPolicies: t.rolePolicies(roleId),
      context: SECURE,
    },
  ];
}

interface DefinitionState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, Json>;
  readonly ItemProcessor?: { readonly States: Record<string, DefinitionState> };
}

/** Every state of a definition, Map item processors included. */
function statesOf(states: Record<string, DefinitionState>): [string, DefinitionState][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, DefinitionState],
    ...(state.ItemProcessor ? statesOf(state.ItemProcessor.States) : []),
  ]);
}

/**
 * What each state machine's role must reach, read from its definition: the Lambda functions it invokes,
 * the topics (and their keys) it publishes to, the metrics it puts, its own child executions.
 */
export function stateMachineChecks(t: TemplateResolver): AccessCheck[] {
  return t.ofType('AWS::StepFunctions::StateMachine').flatMap(([machineId, machine]) => {
    const roleId = t.findByArn('AWS::IAM::Role', t.resolveString(machine.Properties?.RoleArn));
    if (!roleId) throw new Error(`state machine ${machineId}'s role is not a role of this template`);
    const principal = t.arn(roleId);
    const identityPolicies = t.rolePolicies(roleId);
    const definition = JSON.parse(t.resolveString(machine.Properties?.DefinitionString)) as {
      States: Record<string, DefinitionState>;
    };
    const check = (pair: string, action: string, resourceArn: string, extra: Partial<AccessCheck> = {}) => ({
      pair: `state machine ${machineId} ${pair} (${action})`,
      principal,
      action,
      resourceArn,
      identityPolicies,
      context: SECURE,
      ...extra,
    });
    return statesOf(definition.States).flatMap(([name, state]): AccessCheck[] => {
      if (state.ItemProcessor) {
        return [check(`${name} -> its child executions`, 'states:StartExecution', t.arn(machineId))];
      }
      if (state.Type !== 'Task' || !state.Resource) return [];
      const functionId = t.findByArn('AWS::Lambda::Function', state.Resource);
      if (functionId) return [check(`${name} -> function ${functionId}`, 'lambda:InvokeFunction', t.arn(functionId))];
      if (state.Resource.endsWith(':states:::sns:publish')) {
        const topicId = t.findByArn('AWS::SNS::Topic', String(state.Parameters?.TopicArn));
        if (!topicId) throw new Error(`${machineId} ${name} publishes to a topic not in this template`);
        const keyId = t.topicKey(topicId);
        return [
          check(`${name} -> topic ${topicId}`, 'sns:Publish', t.arn(topicId), {
            resourcePolicy: t.topicPolicy(topicId),
          }),
          ...(keyId
            ? ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) =>
                check(`${name} -> topic ${topicId}'s key`, action, t.arn(keyId), {
                  resourcePolicy: t.keyPolicy(keyId),
                }),
              )
            : []),
        ];
      }
      if (state.Resource.endsWith(':states:::aws-sdk:cloudwatch:putMetricData')) {
        return [
          check(`${name} -> metrics`, 'cloudwatch:PutMetricData', '*', {
            context: { ...SECURE, 'cloudwatch:namespace': String(state.Parameters?.Namespace) },
          }),
        ];
      }
      throw new Error(`${machineId} ${name} calls ${state.Resource}, which the test cannot evaluate`);
    });
  });
}
