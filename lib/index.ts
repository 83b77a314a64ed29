export { DkimAlerting, type DkimAlertingProps } from './alerting';
export {
  type CentralSettings,
  ConfigError,
  type DkimSentinelOptions,
  type DkimSentinelSettings,
  resolveSettings,
} from './config';
export { DkimSentinel, type DkimSentinelProps } from './dkim-sentinel';
export { DkimSentinelStack, type DkimSentinelStackProps } from './dkim-sentinel-stack';
export { DkimMemberRole, type DkimMemberRoleProps } from './member-role';
export { DkimMemberRoleStack, type DkimMemberRoleStackProps } from './member-role-stack';
export { DkimMonitoring, type DkimMonitoringProps } from './monitoring';
export { DkimOrganizationScan, type DkimOrganizationScanProps } from './organization';
export { DkimScanner, type DkimScannerProps } from './scanner';
export { DkimState } from './state';
