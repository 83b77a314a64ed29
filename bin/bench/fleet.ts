/** The synthetic fleet shared by the benchmarks and their DNS process. */
import { createHash } from 'node:crypto';

export const fleetDomain = (i: number) => `d${String(i).padStart(5, '0')}.bench`;

/** Easy DKIM's three 32-character tokens, derived from the domain name (the fake SES lists the same). */
export function easyTokens(domain: string): string[] {
  return [0, 1, 2].map((i) => createHash('md5').update(`${domain}/${i}`).digest('hex'));
}

export const fleetTokens = (i: number) => easyTokens(fleetDomain(i));

/** The BYODKIM selector every BYODKIM domain of the fleet publishes. */
export const BYODKIM_SELECTOR = 'sel1';

/** Domains of the fleet that use BYODKIM in the SES benchmark (their DNS also has the Easy DKIM CNAMEs). */
export const isByoDkimDomain = (i: number) => i % 1250 === 100;

/** Domains whose records are broken in the DNS benchmark (a CNAME missing on both servers): 1 in 20. */
export const isBrokenDomain = (i: number) => i % 20 === 7;
