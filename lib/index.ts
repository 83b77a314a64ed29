export { DkimAlerting, type DkimAlertingProps } from './alerting';
export { ConfigError, type DkimSentinelOptions, type DkimSentinelSettings, resolveSettings } from './config';
export { DkimSentinel, type DkimSentinelProps } from './dkim-sentinel';
export { DkimSentinelStack, type DkimSentinelStackProps } from './dkim-sentinel-stack';
export { DkimMonitoring, type DkimMonitoringProps } from './monitoring';
export { DkimScanner, type DkimScannerProps } from './scanner';
export { DkimState } from './state';
