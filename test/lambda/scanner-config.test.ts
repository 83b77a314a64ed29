import { describe, expect, it } from 'vitest';
import { readScannerConfig, ScannerEnv } from '../../lambda/scanner-config';

const env = {
  [ScannerEnv.Regions]: 'eu-west-1',
  [ScannerEnv.Resolvers]: '1.1.1.1',
  [ScannerEnv.AlertTopicArn]: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  [ScannerEnv.StateTable]: 'dkim-state',
};

describe('readScannerConfig: the SES pacing settings', () => {
  it('defaults to SES documented rate of 1 request/s and 20 refreshes a run', () => {
    expect(readScannerConfig(env)).toMatchObject({ sesRequestsPerSecond: 1, sesAttributeRefreshPerRun: 20 });
  });

  it('reads raised values', () => {
    const config = readScannerConfig({
      ...env,
      [ScannerEnv.SesRequestsPerSecond]: '14',
      [ScannerEnv.SesAttributeRefreshPerRun]: '0',
    });
    expect(config).toMatchObject({ sesRequestsPerSecond: 14, sesAttributeRefreshPerRun: 0 });
  });

  it.each([
    [ScannerEnv.SesRequestsPerSecond, '0', 'DKIM_SES_REQUESTS_PER_SECOND must be a whole number from 1 to 50, got "0"'],
    [
      ScannerEnv.SesRequestsPerSecond,
      '1.5',
      'DKIM_SES_REQUESTS_PER_SECOND must be a whole number from 1 to 50, got "1.5"',
    ],
    [
      ScannerEnv.SesAttributeRefreshPerRun,
      'all',
      'DKIM_SES_ATTRIBUTE_REFRESH_PER_RUN must be a whole number from 0 to 1000, got "all"',
    ],
  ])('refuses %s=%s in one line', (name, value, message) => {
    expect(() => readScannerConfig({ ...env, [name]: value })).toThrow(message);
  });
});

describe('readScannerConfig: the MAIL FROM and DMARC checks', () => {
  it('runs both unless set to false', () => {
    expect(readScannerConfig(env)).toMatchObject({ checkMailFrom: true, checkDmarc: true });
    expect(
      readScannerConfig({ ...env, [ScannerEnv.CheckMailFrom]: 'true', [ScannerEnv.CheckDmarc]: 'true' }),
    ).toMatchObject({ checkMailFrom: true, checkDmarc: true });
  });

  it('turns each off on its own', () => {
    expect(readScannerConfig({ ...env, [ScannerEnv.CheckMailFrom]: 'false' })).toMatchObject({
      checkMailFrom: false,
      checkDmarc: true,
    });
    expect(readScannerConfig({ ...env, [ScannerEnv.CheckDmarc]: 'false' })).toMatchObject({
      checkMailFrom: true,
      checkDmarc: false,
    });
  });
});
