/**
 * A custom MAIL FROM domain in SES: the records it needs and what SES does when they are not found.
 * https://docs.aws.amazon.com/ses/latest/dg/mail-from.html
 */
import type { MxFailureBehavior } from './ses-identity';

/** The domain an SPF record must include to authorize SES's sending servers. */
export const SES_SPF_INCLUDE = 'amazonses.com';

/** The SPF record SES's guide (and AWS CDK's `EmailIdentity`) publish at a MAIL FROM domain. */
export const SES_MAIL_FROM_SPF = `v=spf1 include:${SES_SPF_INCLUDE} ~all`;

/** The MX value SES expects, as a DNS console takes it. */
export function mailFromMxValue(mxHost: string): string {
  return `10 ${mxHost}`;
}

/**
 * What SES does with mail while the MAIL FROM status is anything but SUCCESS (Pending, TemporaryFailure and
 * Failed alike), under the identity's `BehaviorOnMxFailure`.
 */
export function mxFailureConsequence(behavior: MxFailureBehavior): string {
  return behavior === 'REJECT_MESSAGE'
    ? 'BehaviorOnMxFailure is REJECT_MESSAGE, so every send from this identity fails with MailFromDomainNotVerified'
    : "BehaviorOnMxFailure is USE_DEFAULT_VALUE, so mail goes out with SES's own MAIL FROM (a subdomain of amazonses.com): SPF passes but is not aligned with your From domain, and DMARC rests on DKIM alone";
}
